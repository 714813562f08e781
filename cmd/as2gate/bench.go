package main

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"time"

	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/loadgen"
	"github.com/as2gate/as2gate/internal/redact"
)

const benchAbout = `Sends --count signed and encrypted messages to an AS2 receiver from
--concurrency parallel connections and measures it. Every message is built
before the timed run, so the figures are the receiver's work, not ours. Each
answer must be a synchronous MDN signed with --partner-cert, "processed"
without warning, for the message sent, with the right MIC; anything else is
an error, and the command exits with status 1.

The report adds the cost of one RSA private-key operation for the partner's
key size, timed on this machine before and after the load (the mean of the
two is used), and the resulting CPU bound of a receiver doing two of them per
message on this machine's cores: meaningful when the receiver runs here (or
on identical hardware).`

// rsaOps is how many signatures MeasureRSA times; rsaDrift is the ratio
// between the two timings above which the machine's speed is deemed to have
// changed during the run (a shared or throttled host).
const (
	rsaOps   = 200
	rsaDrift = 1.2
)

// benchReport is the --json output; durations are in milliseconds.
type benchReport struct {
	URL         string `json:"url"`
	Count       int    `json:"count"`
	Warmup      int    `json:"warmup"`
	Concurrency int    `json:"concurrency"`
	Size        int    `json:"size"`

	Sent          int               `json:"sent"`
	Errors        int               `json:"errors"`
	WarmupErrors  int               `json:"warmup_errors"`
	WallSeconds   float64           `json:"wall_seconds"`
	Rate          float64           `json:"messages_per_second"`
	Latency       latencyOut        `json:"latency_ms"`
	Failures      []loadgen.Failure `json:"failures,omitempty"`
	OtherFailures int               `json:"other_failures,omitempty"`

	RSABits        int     `json:"rsa_bits"`
	RSAOpMS        float64 `json:"rsa_op_ms"` // the mean of before and after
	RSAOpBeforeMS  float64 `json:"rsa_op_before_ms"`
	RSAOpAfterMS   float64 `json:"rsa_op_after_ms"`
	Cores          int     `json:"cores"`
	Bound          float64 `json:"cpu_bound_messages_per_second"`
	PercentOfBound float64 `json:"percent_of_bound"`
}

type latencyOut struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "", benchAbout, stderr)
	url := fs.String("url", "", "the receiver's AS2 URL")
	from := fs.String("from", "", "our AS2 identifier (AS2-From)")
	to := fs.String("to", "", "the receiver's AS2 identifier (AS2-To)")
	keyFiles := addKeyPairFlags(fs, "sign")
	partnerCert := fs.String("partner-cert", "", "the receiver's certificate: to encrypt and to check its MDNs")
	count := fs.Int("count", 1000, "messages in the timed run")
	concurrency := fs.Int("concurrency", 16, "requests in flight at once")
	size := fs.Int("size", 1024, "payload bytes per message")
	signAlg := fs.String("sign", "sha256", "sign with this digest (sha256, sha256-pss, ...)")
	encryptAlg := fs.String("encrypt", "aes256-cbc", "encrypt with this cipher (aes256-cbc, aes128-gcm, 3des, ...)")
	warmup := fs.Int("warmup", 50, "messages sent first and not counted")
	timeout := fs.Duration("timeout", time.Minute, "time limit of one request, response included")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 || *url == "" || *from == "" || *to == "" || *keyFiles.key == "" || *partnerCert == "" {
		fs.Usage()
		return errUsage
	}
	key, cert, err := keyFiles.load()
	if err != nil {
		return err
	}
	certs, err := loadCerts([]string{*partnerCert})
	if err != nil {
		return err
	}
	pub, ok := certs[0].PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%s: AS2 needs an RSA certificate", *partnerCert)
	}
	digest, scheme, err := parseSignAlg(*signAlg)
	if err != nil {
		return err
	}
	cipher, err := cms.ParseCipher(*encryptAlg)
	if err != nil {
		return err
	}
	cfg := loadgen.Config{URL: *url, From: *from, To: *to, Key: key, Cert: cert, PartnerCert: certs[0],
		Digest: digest, Scheme: scheme, Cipher: cipher,
		Count: *count, Warmup: *warmup, Concurrency: *concurrency, Size: *size, Timeout: *timeout}

	fmt.Fprintf(stderr, "preparing %d messages...\n", cfg.Count+cfg.Warmup)
	run, err := loadgen.Prepare(cfg)
	if err != nil {
		return err
	}
	// Timed while the receiver is idle, before and after the load, to
	// notice a machine whose speed changes under us.
	bits := pub.N.BitLen()
	before, err := loadgen.MeasureRSA(bits, rsaOps)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "sending to %s...\n", redact.URL(cfg.URL))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res := run.Execute(ctx)
	after, err := loadgen.MeasureRSA(bits, rsaOps)
	if err != nil {
		return err
	}

	rep := newBenchReport(cfg, res, bits, before, after, runtime.NumCPU())
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printBench(stdout, rep)
	}
	if failed := res.Errors + res.WarmupErrors; failed > 0 {
		return &exitError{status: 1, err: fmt.Errorf("%d of %d messages failed", failed, res.Sent+cfg.Warmup)}
	}
	if res.Sent < cfg.Count {
		return &exitError{status: 1, err: fmt.Errorf("interrupted after %d of %d messages", res.Sent, cfg.Count)}
	}
	return nil
}

func newBenchReport(cfg loadgen.Config, res loadgen.Result, bits int, before, after time.Duration, cores int) benchReport {
	op := (before + after) / 2
	bound := loadgen.CPUBound(cores, op)
	rep := benchReport{
		URL: cfg.URL, Count: cfg.Count, Warmup: cfg.Warmup, Concurrency: cfg.Concurrency, Size: cfg.Size,
		Sent: res.Sent, Errors: res.Errors, WarmupErrors: res.WarmupErrors,
		WallSeconds: res.Wall.Seconds(), Rate: res.Rate,
		Latency:  latencyOut{P50: ms(res.Latency.P50), P90: ms(res.Latency.P90), P99: ms(res.Latency.P99), Max: ms(res.Latency.Max)},
		Failures: res.Failures, OtherFailures: res.OtherFailures,
		RSABits: bits, RSAOpMS: ms(op), RSAOpBeforeMS: ms(before), RSAOpAfterMS: ms(after), Cores: cores, Bound: bound,
	}
	if bound > 0 {
		rep.PercentOfBound = 100 * res.Rate / bound
	}
	return rep
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func printBench(w io.Writer, r benchReport) {
	fmt.Fprintf(w, "%s: %d messages of %d bytes, %d workers, %d warm-up\n", r.URL, r.Count, r.Size, r.Concurrency, r.Warmup)
	fmt.Fprintf(w, "sent        %d\n", r.Sent)
	fmt.Fprintf(w, "errors      %d (warm-up: %d)\n", r.Errors, r.WarmupErrors)
	fmt.Fprintf(w, "wall time   %.3f s\n", r.WallSeconds)
	fmt.Fprintf(w, "rate        %.1f messages/s\n", r.Rate)
	fmt.Fprintf(w, "latency     p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	fmt.Fprintf(w, "RSA-%d    %.3f ms per private-key operation (%.3f before, %.3f after; medians of %d, this machine)\n",
		r.RSABits, r.RSAOpMS, r.RSAOpBeforeMS, r.RSAOpAfterMS, rsaOps)
	fmt.Fprintf(w, "CPU bound   %.1f messages/s (%d cores, 2 private-key operations per message)\n", r.Bound, r.Cores)
	fmt.Fprintf(w, "measured    %.1f%% of the bound\n", r.PercentOfBound)
	if slow, fast := max(r.RSAOpBeforeMS, r.RSAOpAfterMS), min(r.RSAOpBeforeMS, r.RSAOpAfterMS); slow > rsaDrift*fast {
		fmt.Fprintln(w, "warning     the machine's speed changed during the run: the bound and the percentage are unreliable")
	}
	if len(r.Failures) > 0 {
		fmt.Fprintln(w, "failures:")
		for _, f := range r.Failures {
			fmt.Fprintf(w, "  %d × %s\n      e.g. %s\n", f.Count, f.Reason, f.Example)
		}
		if r.OtherFailures > 0 {
			fmt.Fprintf(w, "  %d × other reasons\n", r.OtherFailures)
		}
	}
}
