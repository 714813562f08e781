package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/api"
	"github.com/as2gate/as2gate/internal/as2http"
	"github.com/as2gate/as2gate/internal/config"
	"github.com/as2gate/as2gate/internal/gateway"
	"github.com/as2gate/as2gate/internal/password"
	"github.com/as2gate/as2gate/internal/redact"
	"github.com/as2gate/as2gate/internal/service"
)

func runServe(args []string, stdout, stderr io.Writer) error {
	cfg, rest, err := config.Load(args, os.Getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		var se *config.SettingError
		if errors.As(err, &se) {
			return err
		}
		return errUsage
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(rest, " "))
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	as2ln, err := net.Listen("tcp", cfg.AS2Addr)
	if err != nil {
		return fmt.Errorf("AS2 listener: %w", err)
	}
	adminln, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		as2ln.Close()
		return fmt.Errorf("admin listener: %w", err)
	}
	publicURL := cfg.PublicURL
	if strings.Contains(publicURL, ":0/") { // a port chosen by the system: name the real one
		_, port, _ := net.SplitHostPort(as2ln.Addr().String())
		publicURL = strings.Replace(publicURL, ":0/", ":"+port+"/", 1)
	}
	inst, err := openInstallation(ctx, &cfg.Installation, gateway.Options{
		PublicURL: publicURL, Workers: cfg.Workers, PollInterval: cfg.PollInterval, Lease: cfg.Lease,
		SendScanInterval: cfg.SendScanInterval, MaxBodySize: cfg.MaxBodySize, MaxDecompressed: cfg.MaxDecompressed,
		Logger: log,
	})
	if err != nil {
		as2ln.Close()
		adminln.Close()
		return err
	}
	defer inst.Close()
	fmt.Fprintf(stdout, "as2gate %s\n", version)
	if err := ensureAdmin(ctx, inst.store, cfg.AdminPassword, stdout); err != nil {
		return err
	}

	as2srv := &http.Server{Handler: as2http.New(inst.gw), ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	svc := service.New(inst.gw, service.TokenLifetimes(cfg.AccessTokenTTL, cfg.RefreshTokenTTL), service.Logger(log))
	adminsrv := &http.Server{Handler: adminHandler(inst, api.New(svc, api.Options{Logger: log})), ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	scheme := func(cert string) string {
		if cert != "" {
			return "https"
		}
		return "http"
	}
	fmt.Fprintf(stdout, "AS2 listener (partners):      %s://%s/as2  (public URL %s)\n", scheme(cfg.AS2TLSCert), as2ln.Addr(), publicURL)
	fmt.Fprintf(stdout, "admin listener (API, health): %s://%s%s  (OpenAPI at %[3]s/openapi.json), /healthz\n", scheme(cfg.AdminTLSCert), adminln.Addr(), api.Prefix)
	fmt.Fprintf(stdout, "data folder %s, database %s\n", cfg.DataDir, redact.URL(cfg.Database))

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	serve := func(srv *http.Server, ln net.Listener, cert, key string) {
		defer wg.Done()
		var err error
		if cert != "" {
			srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			err = srv.ServeTLS(ln, cert, key)
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- err
		}
	}
	wg.Add(3)
	go serve(as2srv, as2ln, cfg.AS2TLSCert, cfg.AS2TLSKey)
	go serve(adminsrv, adminln, cfg.AdminTLSCert, cfg.AdminTLSKey)
	workers, stopWorkers := context.WithCancel(context.Background())
	go func() {
		defer wg.Done()
		inst.gw.Run(workers)
	}()

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-errs:
		log.Error("listener failed", "error", runErr)
	}
	// Finish the requests under way (a partner waiting for its MDN), then
	// stop the workers, whose interrupted jobs are handed back.
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	as2srv.Shutdown(shutdown)
	adminsrv.Shutdown(shutdown)
	stopWorkers()
	wg.Wait()
	return runErr
}

func newLogger(cfg *config.Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", cfg.LogLevel, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// ensureAdmin creates the first admin user on first start, with the
// password from AS2GATE_ADMIN_PASSWORD or a random one printed once.
func ensureAdmin(ctx context.Context, store as2gate.Store, fromEnv string, stdout io.Writer) error {
	users, err := store.ListUsers(ctx)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return nil
	}
	pw, origin := fromEnv, "from AS2GATE_ADMIN_PASSWORD"
	if pw == "" {
		pw, origin = password.Generate(), "generated; shown only this once"
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	err = store.CreateUser(ctx, &as2gate.User{ID: as2gate.NewID(), Username: "admin", PasswordHash: hash, Role: as2gate.RoleAdmin, CreatedAt: now, UpdatedAt: now})
	if as2gate.ErrorCode(err) == as2gate.EConflict {
		return nil // another node created it at the same moment
	}
	if err != nil {
		return err
	}
	if fromEnv != "" {
		fmt.Fprintf(stdout, "first start: admin user \"admin\" created, password %s\n", origin)
	} else {
		fmt.Fprintf(stdout, "first start: admin user \"admin\" created, password %s (%s)\n", pw, origin)
	}
	return nil
}

// adminHandler serves the admin listener: the REST API and /healthz.
func adminHandler(inst *installation, rest http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(api.Prefix+"/", rest)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if err := inst.store.Ping(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "{\"status\":\"unavailable\",\"database\":%q}\n", "unreachable")
			return
		}
		io.WriteString(w, "{\"status\":\"ok\"}\n")
	})
	return mux
}
