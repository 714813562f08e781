// Package e2e tests as2gate end to end, as users run it: the built binary,
// `as2gate serve` processes with their own data folders and ports, the
// management commands, and independent peers (OpenSSL, plain HTTP).
//
// This file starts and stops servers; the tests are in the _test files.
package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/as2gate/as2gate/internal/testpeer"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	startTimeout = 30 * time.Second // until /healthz answers
	stopTimeout  = 10 * time.Second // SIGTERM, then SIGKILL
	logTail      = 64 << 10         // bytes of a server's log shown on failure
)

// Server is an `as2gate serve` process and its installation. The data
// folder and the ports stay the same across restarts, so that partners
// keep its URL.
type Server struct {
	t         testing.TB
	bin       string
	Name      string
	Data      string // the data folder (--data)
	AS2Port   int
	AdminPort int
	logPath   string
	flags     []string
	// Env is added to the environment of the server and of its CLI
	// commands (AS2GATE_DATABASE for a server on PostgreSQL).
	Env    []string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the running process has exited
}

// NewServer prepares a server in a new data folder, with ports chosen now,
// and starts it. flags are added to those naming the folder and ports. The
// server is stopped when the test ends; its log is printed if it failed.
func NewServer(t testing.TB, bin, name string, flags ...string) *Server {
	t.Helper()
	return NewServerWithEnv(t, bin, name, nil, flags...)
}

// NewServerWithEnv is NewServer with environment variables for the server
// and its CLI commands.
func NewServerWithEnv(t testing.TB, bin, name string, environ []string, flags ...string) *Server {
	t.Helper()
	dir := t.TempDir()
	ports := freePorts(t, 2)
	s := &Server{t: t, bin: bin, Name: name, Data: filepath.Join(dir, "data"), AS2Port: ports[0], AdminPort: ports[1],
		logPath: filepath.Join(dir, "server.log"), flags: flags, Env: environ}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("log of server %s (%s):\n%s", s.Name, s.logPath, s.tail())
		}
	})
	s.Start()
	return s
}

// freePorts asks the system for n different free ports. They are released
// before the server listens, so another process could take one first; on a
// test machine that is rare, and the server's log then says so plainly.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close() // held until all are chosen, so that they differ
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// URL is the server's AS2 URL, as partners use it: https when the AS2
// listener has a TLS certificate.
func (s *Server) URL() string {
	scheme := "http"
	if slices.Contains(s.flags, "--as2-tls-cert") {
		scheme = "https"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d/as2", scheme, s.AS2Port)
}

// PID is the process ID of the running server.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// env is the environment of the processes: the caller's, without settings
// of as2gate that would point them elsewhere.
func env() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AS2GATE_") {
			out = append(out, kv)
		}
	}
	return out
}

// Start starts the server and waits until /healthz answers.
func (s *Server) Start() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatalf("server %s is already running", s.Name)
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer logf.Close() // the child has its own descriptor
	fmt.Fprintf(logf, "=== start %s\n", time.Now().Format(time.RFC3339Nano))
	args := append([]string{"serve", "--data", s.Data,
		"--as2-addr", "127.0.0.1:" + strconv.Itoa(s.AS2Port), "--admin-addr", "127.0.0.1:" + strconv.Itoa(s.AdminPort),
		"--public-url", s.URL()}, s.flags...)
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(env(), s.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	exited := s.exited
	go func() {
		cmd.Wait()
		close(exited)
	}()
	if err := s.waitHealthy(); err != nil {
		s.t.Fatalf("server %s did not start: %v\n%s", s.Name, err, s.tail())
	}
}

func (s *Server) waitHealthy() error {
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", s.AdminPort)
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("it exited: %v", s.cmd.ProcessState)
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no answer from %s in %v", url, startTimeout)
}

// Kill ends the server with SIGKILL, as a power cut would (short of the
// disk cache), and waits until it is gone.
func (s *Server) Kill() {
	s.t.Helper()
	if s.cmd == nil {
		s.t.Fatalf("server %s is not running", s.Name)
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	s.note("killed")
	s.cmd = nil
}

// Stop ends the server with SIGTERM, and SIGKILL if it is still running
// after stopTimeout; a server that does not shut down cleanly fails the
// test. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if !s.cmd.ProcessState.Success() {
			s.t.Errorf("server %s ended with %v after SIGTERM", s.Name, s.cmd.ProcessState)
		}
	case <-time.After(stopTimeout):
		s.t.Errorf("server %s did not stop within %v of SIGTERM: killed", s.Name, stopTimeout)
		s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
	}
	s.cmd = nil
}

// note writes a line into the server's log, to show the test's actions
// among the server's.
func (s *Server) note(what string) {
	if f, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_APPEND, 0); err == nil {
		fmt.Fprintf(f, "=== %s %s\n", what, time.Now().Format(time.RFC3339Nano))
		f.Close()
	}
}

func (s *Server) tail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	if len(b) > logTail {
		b = append([]byte("...\n"), b[len(b)-logTail:]...)
	}
	return string(b)
}

// PeakRSS is the running server's peak resident set size (VmHWM), in bytes.
func (s *Server) PeakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.PID()))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc/<pid>/status")
}

// Result is what a command printed, and how it ended.
type Result struct {
	Stdout, Stderr string
	Err            error           // nil for exit status 0
	Usage          *syscall.Rusage // the process's resource use
}

// Run runs a management command on the server's installation (as2gate
// ARGS --data DIR), whether the server runs or not.
func (s *Server) Run(args ...string) Result {
	cmd := exec.Command(s.bin, append(args, "--data", s.Data)...)
	cmd.Env = append(env(), s.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
	if cmd.ProcessState != nil {
		r.Usage, _ = cmd.ProcessState.SysUsage().(*syscall.Rusage)
	}
	return r
}

// OK runs a command that must succeed and returns its stdout.
func (s *Server) OK(args ...string) string {
	s.t.Helper()
	r := s.Run(args...)
	if r.Err != nil {
		s.t.Fatalf("%s: as2gate %s: %v\n%s%s", s.Name, strings.Join(args, " "), r.Err, r.Stderr, r.Stdout)
	}
	return r.Stdout
}

// JSON runs a command that must succeed with --json and decodes its output into v.
func (s *Server) JSON(v any, args ...string) {
	s.t.Helper()
	out := s.OK(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		s.t.Fatalf("%s: as2gate %s --json printed no JSON (%v): %s", s.Name, strings.Join(args, " "), err, out)
	}
}

// BuildBinary builds the as2gate binary into a temporary folder, for a
// test package's TestMain; cleanup removes it.
func BuildBinary() (path string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "as2gate-bin-")
	if err != nil {
		return "", nil, err
	}
	path = filepath.Join(dir, "as2gate")
	build := exec.Command("go", "build", "-o", path, "./cmd/as2gate")
	build.Dir = testpeer.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("building as2gate: %v\n%s", err, out)
	}
	return path, func() { os.RemoveAll(dir) }, nil
}
