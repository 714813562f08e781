package loadgen

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/loadgen/loadgentest"
	"github.com/as2gate/as2gate/internal/testpeer"
)

func ids(t *testing.T) (sender, receiver *testpeer.Identity) {
	return testpeer.NewIdentity(t, "sender"), testpeer.NewIdentity(t, "receiver")
}

func config(t *testing.T, url string, count, concurrency, warmup int) Config {
	sender, receiver := ids(t)
	return Config{URL: url, From: "bench sender", To: "receiver", Key: sender.Key, Cert: sender.Cert,
		PartnerCert: receiver.Cert, Digest: crypto.SHA256, Cipher: cms.AES256CBC,
		Count: count, Warmup: warmup, Concurrency: concurrency, Size: 300, Timeout: 30 * time.Second}
}

func TestExecute(t *testing.T) {
	for _, tt := range []struct{ count, concurrency, warmup int }{
		{12, 4, 3},
		{5, 1, 0},
		{3, 8, 2}, // more workers than messages
	} {
		t.Run(fmt.Sprintf("%d messages %d workers %d warm-up", tt.count, tt.concurrency, tt.warmup), func(t *testing.T) {
			sender, receiver := ids(t)
			rc := loadgentest.Start(t, loadgentest.Healthy, sender, receiver)
			run, err := Prepare(config(t, rc.URL, tt.count, tt.concurrency, tt.warmup))
			if err != nil {
				t.Fatal(err)
			}
			res := run.Execute(context.Background())
			if res.Sent != tt.count || res.Errors != 0 || res.WarmupErrors != 0 || len(res.Failures) != 0 {
				t.Fatalf("result %+v", res)
			}
			total := tt.count + tt.warmup
			if msgs, ids, payloads := rc.Counts(); msgs != total || ids != total || payloads != total {
				t.Fatalf("receiver got %d messages, %d distinct Message-IDs, %d distinct payloads; want %d of each", msgs, ids, payloads, total)
			}
			l := res.Latency
			if l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max {
				t.Fatalf("latencies not ordered: %+v", l)
			}
			if res.Wall <= 0 || res.Rate <= 0 || l.Max > res.Wall {
				t.Fatalf("wall %v, rate %v, max latency %v", res.Wall, res.Rate, l.Max)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	for _, tt := range []struct {
		fault loadgentest.Fault
		want  string // in the reason
	}{
		{loadgentest.WrongMIC, "MIC mismatch"},
		{loadgentest.Unsigned, "MDN not signed"},
		{loadgentest.ErrorDisposition, "processed/error: decryption-failed"},
		{loadgentest.WarningDisposition, "processed/warning"},
		{loadgentest.ServerError, "HTTP status 500"},
		{loadgentest.ForeignSigner, "MDN signature does not verify"},
		{loadgentest.WrongOriginalID, "MDN for another message"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			sender, receiver := ids(t)
			rc := loadgentest.Start(t, tt.fault, sender, receiver)
			run, err := Prepare(config(t, rc.URL, 3, 2, 1))
			if err != nil {
				t.Fatal(err)
			}
			res := run.Execute(context.Background())
			if res.Sent != 3 || res.Errors != 3 || res.WarmupErrors != 1 || res.Rate != 0 || res.Latency != (Latency{}) {
				t.Fatalf("result %+v", res)
			}
			if len(res.Failures) != 1 || res.Failures[0].Count != 4 || !strings.Contains(res.Failures[0].Reason, tt.want) {
				t.Fatalf("failures %+v, want one reason with %q counted 4 times", res.Failures, tt.want)
			}
			if ex := res.Failures[0].Example; !strings.HasPrefix(ex, res.Failures[0].Reason+": ") {
				t.Fatalf("example %q does not explain the reason", ex)
			}
		})
	}
	t.Run("no server", func(t *testing.T) {
		srv := httptest.NewServer(nil)
		url := srv.URL
		srv.Close()
		run, err := Prepare(config(t, url, 2, 2, 0))
		if err != nil {
			t.Fatal(err)
		}
		res := run.Execute(context.Background())
		if res.Errors != 2 || len(res.Failures) != 1 || res.Failures[0].Reason != "request failed" {
			t.Fatalf("result %+v", res)
		}
	})
}

func TestInterrupted(t *testing.T) {
	sender, receiver := ids(t)
	rc := loadgentest.Start(t, loadgentest.Healthy, sender, receiver)
	run, err := Prepare(config(t, rc.URL, 4, 2, 1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res := run.Execute(ctx); res.Sent != 0 || res.Errors != 0 || res.WarmupErrors != 0 {
		t.Fatalf("result of a cancelled run %+v", res)
	}
	if msgs, _, _ := rc.Counts(); msgs != 0 {
		t.Fatalf("the receiver got %d messages", msgs)
	}
}

func TestPrepareRejects(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no URL", func(c *Config) { c.URL = "" }, "no URL"},
		{"no key", func(c *Config) { c.Key = nil }, "key"},
		{"no partner", func(c *Config) { c.PartnerCert = nil }, "partner certificate"},
		{"zero count", func(c *Config) { c.Count = 0 }, "count 0"},
		{"negative warm-up", func(c *Config) { c.Warmup = -1 }, "warm-up -1"},
		{"zero concurrency", func(c *Config) { c.Concurrency = 0 }, "concurrency 0"},
		{"huge concurrency", func(c *Config) { c.Concurrency = MaxConcurrency + 1 }, "concurrency"},
		{"tiny payload", func(c *Config) { c.Size = MinSize - 1 }, "size"},
		{"decrypt-only cipher", func(c *Config) { c.Cipher = cms.RC2CBC }, "rc2"},
		{"too much memory", func(c *Config) { c.Count, c.Size = 1<<20, 1<<20 }, "lower the count or the size"},
		{"overflowing count", func(c *Config) { c.Count = math.MaxInt64 / 2 }, "lower the count or the size"},
		{"overflowing size", func(c *Config) { c.Size = math.MaxInt64 / 4 }, "lower the count or the size"},
		{"bad identifier", func(c *Config) { c.From = "" }, "AS2-From"},
		{"key of another certificate", func(c *Config) { _, r := ids(t); c.Cert = r.Cert }, "does not belong"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(t, "http://127.0.0.1:1/", 2, 1, 0)
			tt.change(&cfg)
			if _, err := Prepare(cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Prepare: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	ok := func(n int) outcome { return outcome{sent: true, latency: ms(n)} }
	bad := func(reason string) outcome {
		return outcome{sent: true, latency: ms(1), err: &failure{reason, errors.New("detail")}}
	}
	var hundred []outcome
	for i := 100; i >= 1; i-- {
		hundred = append(hundred, ok(i))
	}
	for _, tt := range []struct {
		name        string
		warm, timed []outcome
		want        Result
	}{
		{"one", nil, []outcome{ok(7)}, Result{Sent: 1, Rate: 1, Latency: Latency{ms(7), ms(7), ms(7), ms(7)}}},
		{"hundred", nil, hundred, Result{Sent: 100, Rate: 100, Latency: Latency{ms(50), ms(90), ms(99), ms(100)}}},
		{"four", nil, []outcome{ok(4), ok(1), ok(3), ok(2)}, Result{Sent: 4, Rate: 4, Latency: Latency{ms(2), ms(4), ms(4), ms(4)}}},
		{"not sent", nil, []outcome{ok(5), {}}, Result{Sent: 1, Rate: 1, Latency: Latency{ms(5), ms(5), ms(5), ms(5)}}},
		{"failures", []outcome{bad("a")}, []outcome{bad("a"), ok(3), bad("b"), bad("c"), bad("d"), bad("e"), bad("f"), bad("g")},
			Result{Sent: 8, Errors: 7, WarmupErrors: 1, Rate: 1, Latency: Latency{ms(3), ms(3), ms(3), ms(3)},
				Failures:      []Failure{{"a", 2, "a: detail"}, {"b", 1, "b: detail"}, {"c", 1, "c: detail"}, {"d", 1, "d: detail"}, {"e", 1, "e: detail"}},
				OtherFailures: 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := summarize(tt.warm, tt.timed, time.Second)
			tt.want.Wall = time.Second
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("summarize:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("é", maxTextLen) // two bytes each: cut inside a rune
	if got := clip(long); len(got) > maxTextLen+3 || !strings.HasSuffix(got, "...") || strings.ContainsRune(got, '\uFFFD') {
		t.Fatalf("clip of a long text: %q", got)
	}
	if got := clip("short \xff"); got != "short ?" {
		t.Fatalf("clip of invalid UTF-8: %q", got)
	}
}

func TestMeasureRSA(t *testing.T) {
	d, err := MeasureRSA(1024, 5)
	if err != nil || d <= 0 {
		t.Fatalf("MeasureRSA(1024, 5) = %v, %v", d, err)
	}
	for _, tt := range []struct{ bits, n int }{{512, 5}, {maxRSABits + 1, 5}, {1024, 0}, {1024, maxRSAOps + 1}} {
		if _, err := MeasureRSA(tt.bits, tt.n); err == nil {
			t.Errorf("MeasureRSA(%d, %d) succeeded", tt.bits, tt.n)
		}
	}
}

func TestCPUBound(t *testing.T) {
	for _, tt := range []struct {
		cores int
		op    time.Duration
		want  float64
	}{
		{2, time.Millisecond, 1000},
		{1, 2 * time.Millisecond, 250},
		{8, 500 * time.Microsecond, 8000},
		{0, time.Millisecond, 0},
		{4, 0, 0},
	} {
		if got := CPUBound(tt.cores, tt.op); got != tt.want {
			t.Errorf("CPUBound(%d, %v) = %v, want %v", tt.cores, tt.op, got, tt.want)
		}
	}
}
