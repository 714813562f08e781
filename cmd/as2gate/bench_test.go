package main

import (
	"bytes"
	"encoding/json"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/as2gate/as2gate/internal/loadgen/loadgentest"
	"github.com/as2gate/as2gate/internal/testpeer"
)

func TestBench(t *testing.T) {
	dir := t.TempDir()
	sender := testpeer.NewIdentity(t, "sender")
	receiver := testpeer.NewIdentity(t, "receiver")
	sKey, sCert := sender.WritePEM(t, dir, "sender")
	_, rCert := receiver.WritePEM(t, dir, "receiver")
	args := func(url string, extra ...string) []string {
		return append([]string{"--url", url, "--from", "bench", "--to", "receiver", "--key", sKey, "--cert", sCert,
			"--partner-cert", rCert, "--count", "6", "--concurrency", "3", "--warmup", "2", "--size", "200"}, extra...)
	}

	t.Run("json", func(t *testing.T) {
		rc := loadgentest.Start(t, loadgentest.Healthy, sender, receiver)
		var stdout, stderr bytes.Buffer
		if err := runBench(args(rc.URL, "--json", "--encrypt", "aes128-gcm", "--sign", "sha256-pss"), &stdout, &stderr); err != nil {
			t.Fatalf("bench: %v\n%s", err, stderr.String())
		}
		var rep benchReport
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("no JSON (%v): %s", err, stdout.String())
		}
		if rep.Count != 6 || rep.Sent != 6 || rep.Errors != 0 || rep.WarmupErrors != 0 || rep.Concurrency != 3 || rep.Size != 200 ||
			rep.URL != rc.URL || len(rep.Failures) != 0 {
			t.Fatalf("report %+v", rep)
		}
		if msgs, ids, payloads := rc.Counts(); msgs != 8 || ids != 8 || payloads != 8 {
			t.Fatalf("receiver got %d messages, %d Message-IDs, %d payloads; want 8 of each", msgs, ids, payloads)
		}
		l := rep.Latency
		if l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max || l.Max > rep.WallSeconds*1000 {
			t.Fatalf("latencies %+v, wall %v s", l, rep.WallSeconds)
		}
		if rep.RSABits != 2048 || rep.Cores != runtime.NumCPU() || rep.RSAOpMS <= 0 || rep.Rate <= 0 {
			t.Fatalf("report %+v", rep)
		}
		if rep.RSAOpBeforeMS <= 0 || rep.RSAOpAfterMS <= 0 || !near(rep.RSAOpMS, (rep.RSAOpBeforeMS+rep.RSAOpAfterMS)/2) {
			t.Fatalf("RSA operation %v ms, before %v, after %v", rep.RSAOpMS, rep.RSAOpBeforeMS, rep.RSAOpAfterMS)
		}
		if want := float64(rep.Cores) / (2 * rep.RSAOpMS / 1000); !near(rep.Bound, want) {
			t.Fatalf("bound %v, want cores / (2 × op) = %v", rep.Bound, want)
		}
		if want := 100 * rep.Rate / rep.Bound; !near(rep.PercentOfBound, want) {
			t.Fatalf("percent of bound %v, want %v", rep.PercentOfBound, want)
		}
	})

	t.Run("text", func(t *testing.T) {
		rc := loadgentest.Start(t, loadgentest.Healthy, sender, receiver)
		var stdout, stderr bytes.Buffer
		if err := runBench(args(rc.URL), &stdout, &stderr); err != nil {
			t.Fatalf("bench: %v\n%s", err, stderr.String())
		}
		for _, want := range []string{"sent        6\n", "errors      0 (warm-up: 0)", "messages/s", "p99", "RSA-2048", "% of the bound"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, stdout.String())
			}
		}
	})

	t.Run("failing receiver", func(t *testing.T) {
		rc := loadgentest.Start(t, loadgentest.ServerError, sender, receiver)
		var stdout, stderr bytes.Buffer
		err := runBench(args(rc.URL, "--json"), &stdout, &stderr)
		if err == nil || exitStatus(err) != 1 || !strings.Contains(err.Error(), "8 of 8 messages failed") {
			t.Fatalf("bench against a failing receiver: %v", err)
		}
		var rep benchReport
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("no JSON (%v): %s", err, stdout.String())
		}
		if rep.Sent != 6 || rep.Errors != 6 || rep.WarmupErrors != 2 || len(rep.Failures) != 1 ||
			rep.Failures[0].Reason != "HTTP status 500" || rep.Failures[0].Count != 8 || rep.Rate != 0 {
			t.Fatalf("report %+v", rep)
		}
	})

	for _, tt := range []struct {
		name string
		args []string
		want string // in the error; empty: a usage error
	}{
		{"no url", []string{"--from", "a", "--to", "b", "--key", sKey, "--partner-cert", rCert}, ""},
		{"positional argument", append(args("http://127.0.0.1:1/"), "extra"), ""},
		{"missing partner certificate", args("http://127.0.0.1:1/", "--partner-cert", dir+"/none.crt"), "none.crt"},
		{"unknown cipher", args("http://127.0.0.1:1/", "--encrypt", "rot13"), "rot13"},
		{"MD5 signature", args("http://127.0.0.1:1/", "--sign", "md5"), "MD5"},
		{"zero workers", args("http://127.0.0.1:1/", "--concurrency", "0"), "concurrency 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runBench(tt.args, &stdout, &stderr)
			if tt.want == "" {
				if err != errUsage {
					t.Fatalf("got %v, want a usage error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestPrintBenchDrift(t *testing.T) {
	for _, tt := range []struct {
		before, after float64
		warn          bool
	}{
		{1, 1, false},
		{1, 1.15, false},
		{1.15, 1, false},
		{1, 1.3, true},
		{1.9, 1, true},
	} {
		var out bytes.Buffer
		printBench(&out, benchReport{RSAOpBeforeMS: tt.before, RSAOpAfterMS: tt.after})
		if got := strings.Contains(out.String(), "speed changed"); got != tt.warn {
			t.Errorf("before %v ms, after %v ms: warning %v, want %v", tt.before, tt.after, got, tt.warn)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(math.Abs(a), math.Abs(b)) }
