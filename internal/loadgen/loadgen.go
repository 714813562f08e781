// Package loadgen measures an AS2 receiver: it prepares signed and
// encrypted messages in advance, posts them at a chosen concurrency, and
// checks that every synchronous MDN is signed by the receiver, positive, and
// states the MIC of what was sent. Preparing everything first keeps the
// sender's own cryptography out of the figures.
package loadgen

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/as2gate/as2gate/internal/as2"
	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/mime"
)

// Limits of a run. Prepared messages are held in memory, so their total
// size is bounded; the concurrency is bounded by what one process can
// reasonably keep open.
const (
	MinSize          = 32 // room for the message number that makes each payload distinct
	MaxConcurrency   = 4096
	MaxPreparedBytes = 2 << 30
	// perMessageOverhead estimates headers, signature (with the
	// certificate) and envelope around each payload.
	perMessageOverhead = 8 << 10
	// maxReasons is how many distinct failure reasons a Result keeps.
	maxReasons = 5
	// maxTextLen bounds the receiver-supplied text kept in a failure.
	maxTextLen = 300
)

// Config describes a run.
type Config struct {
	URL      string
	From, To string // AS2 identifiers: ours and the receiver's

	Key  crypto.Signer     // our RSA key, to sign
	Cert *x509.Certificate // its certificate
	// PartnerCert is the receiver's certificate: messages are encrypted
	// to it and its MDNs must be signed with it.
	PartnerCert *x509.Certificate

	Digest crypto.Hash // signature digest
	Scheme cms.SignatureScheme
	Cipher cms.Cipher

	Count       int // messages of the timed run
	Warmup      int // messages sent before, not counted
	Concurrency int // requests in flight at once
	Size        int // payload bytes of each message

	Timeout time.Duration // per request, response included; 0: none
}

func (c *Config) check() error {
	switch {
	case c.URL == "":
		return errors.New("loadgen: no URL")
	case c.Key == nil || c.Cert == nil:
		return errors.New("loadgen: a key and its certificate are needed to sign")
	case c.PartnerCert == nil:
		return errors.New("loadgen: the partner certificate is needed to encrypt and to check MDNs")
	case c.Count < 1:
		return fmt.Errorf("loadgen: count %d: at least one message is needed", c.Count)
	case c.Warmup < 0:
		return fmt.Errorf("loadgen: warm-up %d is negative", c.Warmup)
	case c.Concurrency < 1 || c.Concurrency > MaxConcurrency:
		return fmt.Errorf("loadgen: concurrency %d: want 1 to %d", c.Concurrency, MaxConcurrency)
	case c.Size < MinSize:
		return fmt.Errorf("loadgen: size %d: want at least %d bytes", c.Size, MinSize)
	case !c.Cipher.CanEncrypt():
		return fmt.Errorf("loadgen: %v is not a cipher we send with", c.Cipher)
	}
	// Each factor is bounded first, so that the product cannot overflow.
	total := (int64(c.Count) + int64(c.Warmup)) * (int64(c.Size) + perMessageOverhead)
	if c.Count > MaxPreparedBytes || c.Warmup > MaxPreparedBytes || c.Size > MaxPreparedBytes || total > MaxPreparedBytes {
		return fmt.Errorf("loadgen: %d messages of %d bytes need about %d MiB in memory, more than the %d MiB allowed: lower the count or the size",
			c.Count+c.Warmup, c.Size, total>>20, MaxPreparedBytes>>20)
	}
	// Check the key, certificates and algorithms once, up front, rather
	// than in every message.
	if _, err := c.signer().Size(); err != nil {
		return fmt.Errorf("loadgen: signing: %w", err)
	}
	if _, err := cms.EncryptedSize(int64(c.Size), c.encryption()); err != nil {
		return fmt.Errorf("loadgen: encrypting: %w", err)
	}
	return nil
}

func (c *Config) signer() *cms.Signer {
	return &cms.Signer{Key: c.Key, Cert: c.Cert, Digest: c.Digest, Scheme: c.Scheme}
}

func (c *Config) encryption() cms.EncryptOptions {
	return cms.EncryptOptions{Cipher: c.Cipher, Recipients: []*x509.Certificate{c.PartnerCert}}
}

// message is a prepared request, sent once.
type message struct {
	id     string
	header http.Header
	body   []byte
	mic    as2.MIC
}

// Run is a prepared run. Its messages have distinct Message-IDs and are
// meant to be sent once: call Execute once.
type Run struct {
	cfg    Config
	client *http.Client
	warmup []message
	timed  []message
}

// Prepare validates cfg and builds every message, using all cores.
func Prepare(cfg Config) (*Run, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	msgs := make([]message, cfg.Warmup+cfg.Count)
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range min(len(msgs), runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(msgs) {
					return
				}
				m, err := cfg.build(i + 1)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					next.Store(int64(len(msgs))) // stop the other workers
					return
				}
				msgs[i] = m
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return &Run{cfg: cfg, client: newClient(cfg), warmup: msgs[:cfg.Warmup], timed: msgs[cfg.Warmup:]}, nil
}

// build makes message number seq: a payload of random bytes that starts
// with its number, so that no two payloads of a run are equal.
func (c *Config) build(seq int) (message, error) {
	payload := make([]byte, c.Size)
	rand.Read(payload)
	copy(payload, fmt.Sprintf("as2gate bench %d\n", seq))
	enc := c.encryption()
	req, err := as2.Build(as2.BuildOptions{
		From:    c.From,
		To:      c.To,
		Subject: fmt.Sprintf("as2gate bench %d", seq),
		Attachments: []as2.Attachment{{Content: as2.BytesSource(payload), ContentType: "application/octet-stream",
			Filename: fmt.Sprintf("bench-%d.bin", seq)}},
		Sign:    c.signer(),
		Encrypt: &enc,
		MDN:     as2.MDNRequest{To: "as2gate-bench@localhost", Signed: true, MICAlgs: []string{"sha-256"}},
	})
	if err != nil {
		return message{}, fmt.Errorf("loadgen: building message %d: %w", seq, err)
	}
	defer req.Close()
	rc, err := req.Body.Open()
	if err != nil {
		return message{}, fmt.Errorf("loadgen: building message %d: %w", seq, err)
	}
	// Exactly the announced size, so that what is held is what is sent.
	body := make([]byte, req.Body.Size())
	_, err = io.ReadFull(rc, body)
	if err == nil {
		if n, _ := io.CopyN(io.Discard, rc, 1); n > 0 {
			err = errors.New("the body is longer than announced")
		}
	}
	rc.Close()
	if err != nil {
		return message{}, fmt.Errorf("loadgen: building message %d: %w", seq, err)
	}
	// The body was read whole, so the MIC is known without another pass.
	mic, err := req.MIC()
	if err != nil {
		return message{}, fmt.Errorf("loadgen: MIC of message %d: %w", seq, err)
	}
	h := http.Header{}
	for _, f := range req.Header.Fields {
		h.Add(f.Name, f.Value)
	}
	return message{id: req.MessageID, header: h, body: body, mic: mic}, nil
}

// newClient keeps one connection per worker alive between requests and
// never follows redirects: a receiver that redirects is reported as such.
func newClient(cfg Config) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = cfg.Concurrency
	t.MaxIdleConnsPerHost = cfg.Concurrency
	t.DisableCompression = true
	return &http.Client{
		Transport:     t,
		Timeout:       cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Latency summarises the latencies of successful messages, from the start
// of the request to the last byte of the response.
type Latency struct {
	P50, P90, P99, Max time.Duration
}

// Failure is one kind of failure: Reason groups them, Example is the
// first one in full.
type Failure struct {
	Reason  string `json:"reason"`
	Count   int    `json:"count"`
	Example string `json:"example"`
}

// Result is what a run measured.
type Result struct {
	Sent         int // messages of the timed run that were sent (fewer than Count when interrupted)
	Errors       int // of them, those that failed
	WarmupErrors int // warm-up messages that failed
	Wall         time.Duration
	Rate         float64 // successful messages per second of wall time
	Latency      Latency
	// Failures explain Errors and WarmupErrors: the first few distinct
	// reasons, in the order they were first seen. OtherFailures counts
	// the failures whose reason is not among them.
	Failures      []Failure
	OtherFailures int
}

// outcome is what became of one message.
type outcome struct {
	sent    bool
	latency time.Duration
	err     *failure
}

// Execute sends the warm-up messages, then the timed ones, and reports.
// When ctx ends, the messages not yet sent are left out.
func (r *Run) Execute(ctx context.Context) Result {
	defer r.client.CloseIdleConnections()
	warm := r.send(ctx, r.warmup)
	start := time.Now()
	timed := r.send(ctx, r.timed)
	return summarize(warm, timed, time.Since(start))
}

// send posts msgs from the configured number of workers.
func (r *Run) send(ctx context.Context, msgs []message) []outcome {
	out := make([]outcome, len(msgs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(len(msgs), r.cfg.Concurrency) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(msgs) {
					return
				}
				latency, err := r.post(ctx, &msgs[i])
				out[i] = outcome{sent: true, latency: latency, err: err}
			}
		})
	}
	wg.Wait()
	return out
}

// post sends one message and checks its MDN. The latency ends when the
// response has been read; checking the MDN is the client's work.
func (r *Run) post(ctx context.Context, m *message) (time.Duration, *failure) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.URL, bytes.NewReader(m.body))
	if err != nil {
		return 0, &failure{"invalid request", err}
	}
	req.Header = m.header
	start := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, &failure{"request failed", err}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, as2.MaxMDNSize+1))
	resp.Body.Close()
	latency := time.Since(start)
	if err != nil {
		return latency, &failure{"reading the response failed", err}
	}
	if resp.StatusCode != http.StatusOK {
		return latency, &failure{fmt.Sprintf("HTTP status %d", resp.StatusCode),
			fmt.Errorf("%s: %q", resp.Status, clip(string(body)))}
	}
	if len(body) > as2.MaxMDNSize {
		return latency, &failure{"response too large", fmt.Errorf("more than the %d bytes of an MDN", as2.MaxMDNSize)}
	}
	return latency, checkMDN(m, resp.Header, body, r.cfg.PartnerCert)
}

// checkMDN accepts only a signed MDN from the partner, for this message,
// processed without warning, stating the MIC of what was sent.
func checkMDN(m *message, h http.Header, body []byte, partner *x509.Certificate) *failure {
	mdn, err := as2.ParseMDN(mimeHeader(h), bytes.NewReader(body), as2.MDNParseOptions{Verify: []*x509.Certificate{partner}})
	switch {
	case errors.Is(err, as2.ErrMDNSignature):
		return &failure{"MDN signature does not verify with the partner certificate", err}
	case err != nil:
		return &failure{"unreadable MDN", err}
	case mdn.Signature == nil || !mdn.Signature.Trusted:
		return &failure{"MDN not signed", errors.New("the receiver answered with an unsigned MDN")}
	case mdn.OriginalMessageID != m.id:
		return &failure{"MDN for another message", fmt.Errorf("Original-Message-ID %q, sent %q", clip(mdn.OriginalMessageID), m.id)}
	case !mdn.Disposition.OK() || mdn.Disposition.Modifier != "":
		d := mdn.Disposition
		return &failure{clip("disposition " + d.Type + "/" + d.Modifier + ": " + d.Description), errors.New(clip(d.String()))}
	}
	if err := mdn.CheckMIC(m.mic); err != nil {
		return &failure{"MIC mismatch", err}
	}
	return nil
}

// mimeHeader turns HTTP headers into the header block ParseMDN reads, in
// a stable order.
func mimeHeader(h http.Header) mime.Header {
	var out mime.Header
	for _, name := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[name] {
			out.Add(name, v)
		}
	}
	return out
}

// failure is why one message failed; reason groups like failures.
type failure struct {
	reason string
	err    error
}

func (f *failure) Error() string { return f.reason + ": " + f.err.Error() }

// clip bounds text that comes from the receiver.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= maxTextLen {
		return s
	}
	return strings.ToValidUTF8(s[:maxTextLen], "") + "..."
}

func summarize(warm, timed []outcome, wall time.Duration) Result {
	res := Result{Wall: wall}
	var latencies []time.Duration
	tally := func(o outcome) {
		if i := slices.IndexFunc(res.Failures, func(f Failure) bool { return f.Reason == o.err.reason }); i >= 0 {
			res.Failures[i].Count++
		} else if len(res.Failures) < maxReasons {
			res.Failures = append(res.Failures, Failure{Reason: o.err.reason, Count: 1, Example: clip(o.err.Error())})
		} else {
			res.OtherFailures++
		}
	}
	for _, o := range warm {
		if o.sent && o.err != nil {
			res.WarmupErrors++
			tally(o)
		}
	}
	for _, o := range timed {
		switch {
		case !o.sent:
		case o.err != nil:
			res.Sent++
			res.Errors++
			tally(o)
		default:
			res.Sent++
			latencies = append(latencies, o.latency)
		}
	}
	if wall > 0 {
		res.Rate = float64(len(latencies)) / wall.Seconds()
	}
	slices.Sort(latencies)
	res.Latency = Latency{
		P50: percentile(latencies, 50),
		P90: percentile(latencies, 90),
		P99: percentile(latencies, 99),
		Max: percentile(latencies, 100),
	}
	return res
}

// percentile is the nearest-rank percentile of sorted values (0 when empty).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(float64(len(sorted)) * p / 100))
	return sorted[min(max(k, 1), len(sorted))-1]
}
