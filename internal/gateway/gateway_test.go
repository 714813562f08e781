package gateway_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/as2"
	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/gateway"
	"github.com/as2gate/as2gate/internal/mime"
	"github.com/as2gate/as2gate/internal/pki"
)

// TestExchange sends files both ways between two installations with every
// MDN mode and the common security profiles.
func TestExchange(t *testing.T) {
	alpha, beta := newNode(t, "ALPHA"), newNode(t, "BETA")
	profiles := []struct {
		name   string
		change func(*as2gate.Partner)
	}{
		{"plain", func(p *as2gate.Partner) { p.Sign, p.Encrypt, p.MDNSigned = "", "", false }},
		{"signed sha1", func(p *as2gate.Partner) { p.Sign, p.Encrypt = "sha1", "" }},
		{"3des compressed before signing", func(p *as2gate.Partner) { p.Encrypt, p.Compress = "3des", "before" }},
		{"gcm oaep pss compressed after signing", func(p *as2gate.Partner) {
			p.Encrypt, p.KeyTransport, p.SignPSS, p.Compress, p.Sign = "aes128-gcm", "oaep-sha256", true, "after", "sha384"
		}},
		{"base64 chunked", func(p *as2gate.Partner) { p.Base64, p.Chunked = true, true }},
	}
	modes := []string{as2gate.MDNNone, as2gate.MDNSync, as2gate.MDNAsync}
	for i, prof := range profiles {
		for j, mode := range modes {
			t.Run(prof.name+"/"+mode, func(t *testing.T) {
				// A partner record per case, since each has its own settings:
				// distinct station pairs keep them apart.
				from, to := newNode(t, fmt.Sprintf("FROM-%d-%d", i, j)), newNode(t, fmt.Sprintf("TO-%d-%d", i, j))
				if i == 0 && j == 0 {
					from, to = alpha, beta
				}
				p := from.partnerOf(t, to, func(p *as2gate.Partner) { p.MDN = mode; prof.change(p) })
				to.partnerOf(t, from, func(p *as2gate.Partner) { prof.change(p) })
				content := []byte(fmt.Sprintf("ISA*00*%d*%d~\r\nGS*PO~\n\x00\xff binary too", i, j))
				sent := from.waitFinal(t, from.send(t, p, "order 1.x12", content).ID)
				if sent.Status != as2gate.StatusSent {
					t.Fatalf("status %s: %s", sent.Status, sent.Reason)
				}
				if mode != as2gate.MDNNone && (sent.MICMatched == nil || !*sent.MICMatched || sent.MDNDisposition == "") {
					t.Fatalf("MDN not checked: %+v", sent)
				}
				var got []*as2gate.Message
				waitFor(t, 10*time.Second, func() bool { got = to.inbound(t); return len(got) == 1 })
				in := got[0]
				if in.Status != as2gate.StatusReceived || in.MessageID != sent.MessageID || len(in.Files) != 1 {
					t.Fatalf("received %+v", in)
				}
				if data := to.readFile(t, in, 0); !bytes.Equal(data, content) || in.Files[0].Name != "order 1.x12" {
					t.Fatalf("received file %q = %q", in.Files[0].Name, data)
				}
				if mode != as2gate.MDNNone && in.MIC != sent.MIC {
					t.Fatalf("receiver stated MIC %q, sender expected %q", in.MIC, sent.MIC)
				}
				for _, key := range []string{in.RawKey, sent.RawKey} {
					if len(to.readMaybe(key))+len(from.readMaybe(key)) == 0 {
						t.Fatalf("raw blob %s missing", key)
					}
				}
				if mode == as2gate.MDNAsync {
					waitFor(t, 10*time.Second, func() bool {
						m, _ := to.store.GetMessage(context.Background(), in.ID)
						return m.MDNStatus == "sent"
					})
				}
			})
		}
	}
}

func (n *node) readMaybe(key string) []byte {
	rc, _, err := n.blobs.Open(context.Background(), key)
	if err != nil {
		return nil
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b
}

// postRaw builds a request as alpha would send it to beta and posts it;
// mutate, when not nil, may change its header and body first.
func postRaw(t *testing.T, from *node, p *as2gate.Partner, to *node, mutate func(h http.Header, body []byte) []byte) (*http.Response, []byte) {
	t.Helper()
	kp, err := pki.Parse(identityP12(t, from.station.AS2ID), "pw")
	if err != nil {
		t.Fatal(err)
	}
	toCert, _ := pki.Parse(identityP12(t, to.station.AS2ID), "pw")
	return post(t, to, as2.BuildOptions{From: from.station.AS2ID, To: to.station.AS2ID, MessageID: "<dup-test@alpha>",
		Attachments: []as2.Attachment{{Content: as2.BytesSource([]byte("UNB+UNOA:2+X'")), Filename: "x.edi"}},
		Sign:        signer(kp), Encrypt: encryptTo(toCert.Certs[0]),
		MDN: as2.MDNRequest{To: "x", Signed: true, MICAlgs: []string{"sha-256"}}}, mutate)
}

// postUnsigned posts what anybody can send: an unsigned, unencrypted
// message claiming to come from `from`, asking an async MDN at mdnURL.
func postUnsigned(t *testing.T, from, to *node, msgID, mdnURL string) *http.Response {
	t.Helper()
	resp, _ := post(t, to, as2.BuildOptions{From: from.station.AS2ID, To: to.station.AS2ID, MessageID: msgID,
		Attachments: []as2.Attachment{{Content: as2.BytesSource([]byte("UNB+UNOA:2+X'")), Filename: "x.edi"}},
		MDN:         as2.MDNRequest{To: "x", Signed: true, MICAlgs: []string{"sha-256"}, AsyncURL: mdnURL}}, nil)
	return resp
}

// post builds a request and posts it to a node's AS2 listener; mutate,
// when not nil, may change its header and body first.
func post(t *testing.T, to *node, opts as2.BuildOptions, mutate func(h http.Header, body []byte) []byte) (*http.Response, []byte) {
	t.Helper()
	opts.TempDir = t.TempDir()
	req, err := as2.Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer req.Close()
	rc, _ := req.Body.Open()
	body, _ := io.ReadAll(rc)
	rc.Close()
	hreq, _ := http.NewRequest(http.MethodPost, to.srv.URL+"/as2", nil)
	for _, f := range req.Header.Fields {
		hreq.Header.Add(f.Name, f.Value)
	}
	if mutate != nil {
		body = mutate(hreq.Header, body)
	}
	hreq.Body, hreq.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// TestDuplicateIsStoredOnce: the same Message-ID twice stores one file
// and returns the same MDN.
func TestDuplicateIsStoredOnce(t *testing.T) {
	alpha, beta := newNode(t, "ALPHA"), newNode(t, "BETA")
	p := alpha.partnerOf(t, beta, nil)
	beta.partnerOf(t, alpha, nil)
	r1, mdn1 := postRaw(t, alpha, p, beta, nil)
	r2, mdn2 := postRaw(t, alpha, p, beta, nil)
	if r1.StatusCode != 200 || r2.StatusCode != 200 || !bytes.Equal(mdn1, mdn2) || len(mdn1) == 0 {
		t.Fatalf("responses %d %d, MDNs equal: %v", r1.StatusCode, r2.StatusCode, bytes.Equal(mdn1, mdn2))
	}
	if got := beta.inbound(t); len(got) != 1 {
		t.Fatalf("%d messages recorded", len(got))
	}
	files, _ := beta.blobs.List(context.Background(), "AS2/files/")
	if len(files) != 1 {
		t.Fatalf("%d files stored", len(files))
	}
}

// TestRefusals: what a receiver refuses, and how it says so.
func TestRefusals(t *testing.T) {
	alpha, beta := newNode(t, "ALPHA"), newNode(t, "BETA")
	p := alpha.partnerOf(t, beta, nil)
	t.Run("unknown partner", func(t *testing.T) {
		resp, body := postRaw(t, alpha, p, beta, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "ALPHA") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		got := beta.inbound(t)
		if len(got) != 1 || got[0].Status != as2gate.StatusRejected || got[0].PartnerID != "" {
			t.Fatalf("recorded %+v", got)
		}
	})
	p2 := beta.partnerOf(t, alpha, func(p *as2gate.Partner) { p.RequireSigned = true })
	t.Run("tampered", func(t *testing.T) {
		resp, body := postRaw(t, alpha, p, beta, func(_ http.Header, b []byte) []byte {
			b = append([]byte{}, b...)
			b[len(b)/2] ^= 0x55 // inside the ciphertext
			return b
		})
		mdn, err := as2.ParseMDN(headerOf(resp), bytes.NewReader(body), as2.MDNParseOptions{})
		if resp.StatusCode != 200 || err != nil || mdn.Disposition.OK() {
			t.Fatalf("%d %v %+v", resp.StatusCode, err, mdn)
		}
		ms := beta.inbound(t)
		last := ms[0]
		if last.Status != as2gate.StatusRejected || last.Reason == "" || len(beta.readMaybe(last.RawKey)) == 0 {
			t.Fatalf("recorded %+v", last)
		}
		t.Logf("disposition %s; reason %s", mdn.Disposition, last.Reason)
	})
	t.Run("malformed headers", func(t *testing.T) {
		for _, tc := range []struct{ name, value string }{
			{"Message-ID", "<caf\xc3\xa9@alpha>"},
			{"Receipt-Delivery-Option", "file:///etc/passwd"},
			{"Receipt-Delivery-Option", "http:///no-host"},
		} {
			resp, body := postRaw(t, alpha, p, beta, func(h http.Header, b []byte) []byte {
				h.Set(tc.name, tc.value)
				return b
			})
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tc.name) {
				t.Errorf("%s %q: %d %s", tc.name, tc.value, resp.StatusCode, body)
			}
		}
	})
	t.Run("async MDN for an unsigned claim", func(t *testing.T) {
		// A refused message is not known to come from the partner: its MDN
		// goes to the partner's own host only.
		for i, tc := range []struct{ url, status string }{
			{"http://192.0.2.1/mdn", "withheld"},
			{alpha.srv.URL + "/as2/mdn", "queued"},
		} {
			msgID := fmt.Sprintf("<async-%d@alpha>", i)
			resp, body := postRaw(t, alpha, p, beta, func(h http.Header, b []byte) []byte {
				h.Set("Message-ID", msgID)
				h.Set("Receipt-Delivery-Option", tc.url)
				b = append([]byte{}, b...)
				b[len(b)/2] ^= 0x55
				return b
			})
			if resp.StatusCode != http.StatusOK || len(body) != 0 {
				t.Fatalf("%s: %d %s", tc.url, resp.StatusCode, body)
			}
			m, err := beta.store.FindMessage(context.Background(), p2.ID, as2gate.Inbound, msgID)
			if err != nil {
				t.Fatal(err)
			}
			// A queued MDN may have been tried already: only withheld is told apart.
			if m.Status != as2gate.StatusRejected || m.MDNMode != as2gate.MDNAsync || (m.MDNStatus == "withheld") != (tc.status == "withheld") {
				t.Errorf("%s: status %s, MDN %s %s", tc.url, m.Status, m.MDNMode, m.MDNStatus)
			}
		}
	})
	t.Run("unknown station", func(t *testing.T) {
		gamma := newNode(t, "GAMMA")
		alpha.partnerOf(t, gamma, nil)
		gp, _ := alpha.gw.Partner(context.Background(), "GAMMA")
		gp.URL = beta.srv.URL + "/as2"
		if err := alpha.gw.UpdatePartner(context.Background(), gp); err != nil {
			t.Fatal(err)
		}
		m := alpha.waitFinal(t, alpha.send(t, gp, "a.txt", []byte("x")).ID)
		if m.Status != as2gate.StatusFailed || !strings.Contains(m.Reason, "404") {
			t.Fatalf("status %s, reason %s", m.Status, m.Reason)
		}
	})
}

func headerOf(resp *http.Response) mime.Header { return mimeHeader(resp.Header) }

// TestRetryThenDelivered: a partner down for a while gets the message when
// it comes back; the attempts are counted.
func TestRetryThenDelivered(t *testing.T) {
	alpha, beta := newNode(t, "ALPHA"), newNode(t, "BETA")
	var failures atomic.Int32
	failures.Store(2)
	flaky := newProxy(t, beta, func() bool { return failures.Add(-1) >= 0 })
	p := alpha.partnerOf(t, beta, func(p *as2gate.Partner) { p.URL = flaky + "/as2"; p.Retries = 3 })
	beta.partnerOf(t, alpha, nil)
	m := alpha.waitFinal(t, alpha.send(t, p, "a.x12", []byte("ISA~")).ID)
	if m.Status != as2gate.StatusSent || m.Attempts != 3 {
		t.Fatalf("status %s after %d attempts: %s", m.Status, m.Attempts, m.Reason)
	}
	t.Run("gives up", func(t *testing.T) {
		failures.Store(100)
		p.Retries = 1
		if err := alpha.gw.UpdatePartner(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		m := alpha.waitFinal(t, alpha.send(t, p, "b.x12", []byte("ISA~")).ID)
		if m.Status != as2gate.StatusFailed || m.Attempts != 2 || !strings.Contains(m.Reason, "503") {
			t.Fatalf("status %s after %d attempts: %s", m.Status, m.Attempts, m.Reason)
		}
		// A manual resend goes through once the partner is back.
		failures.Store(0)
		if _, err := alpha.gw.Resend(context.Background(), m.ID); err != nil {
			t.Fatal(err)
		}
		if m = alpha.waitFinal(t, m.ID); m.Status != as2gate.StatusSent {
			t.Fatalf("resend: %s %s", m.Status, m.Reason)
		}
	})
}

// TestAsyncMDNTimeout: no asynchronous MDN in time makes the message incomplete.
func TestAsyncMDNTimeout(t *testing.T) {
	alpha, beta := newNode(t, "ALPHA"), newNode(t, "BETA")
	sink := newSink(t)
	p := alpha.partnerOf(t, beta, func(p *as2gate.Partner) { p.URL, p.MDN = sink, as2gate.MDNAsync })
	m := alpha.send(t, p, "a.x12", []byte("ISA~"))
	waitFor(t, 10*time.Second, func() bool {
		got, _ := alpha.store.GetMessage(context.Background(), m.ID)
		return got.Status == as2gate.StatusAwaitingMDN
	})
	alpha.clock.Advance(7 * time.Hour)
	if m = alpha.waitFinal(t, m.ID); m.Status != as2gate.StatusIncomplete {
		t.Fatalf("status %s", m.Status)
	}
}

// TestForgedAsyncMDN: an asynchronous MDN the partner's certificate does
// not authenticate settles nothing and is not kept; the partner's own
// settles the message, and a repeat of it changes nothing.
func TestForgedAsyncMDN(t *testing.T) {
	alpha, beta, mallory := newNode(t, "ALPHA"), newNode(t, "BETA"), newNode(t, "MALLORY")
	p := alpha.partnerOf(t, beta, func(p *as2gate.Partner) { p.URL, p.MDN = newSink(t), as2gate.MDNAsync })
	m := alpha.send(t, p, "a.x12", []byte("ISA~"))
	waitFor(t, 10*time.Second, func() bool {
		m, _ = alpha.store.GetMessage(context.Background(), m.ID)
		return m.Status == as2gate.StatusAwaitingMDN
	})
	mic, err := as2.ParseMIC(m.MIC)
	if err != nil {
		t.Fatal(err)
	}
	post := func(sign *cms.Signer, d as2.Disposition) int {
		mdn, err := as2.BuildMDN(as2.MDNOptions{From: "BETA", To: "ALPHA", OriginalMessageID: m.MessageID, Disposition: d, MIC: &mic, Sign: sign})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, alpha.srv.URL+"/as2", bytes.NewReader(mdn.Body))
		for _, f := range mdn.Header.Fields {
			req.Header.Add(f.Name, f.Value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	sig := func(n *node) *cms.Signer {
		b, _ := pki.Parse(identityP12(t, n.station.AS2ID), "pw")
		return signer(b)
	}
	failed := as2.ProcessedError("authentication-failed")
	for name, sign := range map[string]*cms.Signer{"unsigned": nil, "signed by another key": sig(mallory)} {
		if code := post(sign, failed); code != http.StatusForbidden && code != http.StatusBadRequest {
			t.Errorf("%s MDN: HTTP %d, want 403 or 400", name, code)
		}
		got, _ := alpha.store.GetMessage(context.Background(), m.ID)
		if got.Status != as2gate.StatusAwaitingMDN || alpha.readMaybe(m.MDNKey) != nil {
			t.Fatalf("%s MDN: status %s, MDN kept %v", name, got.Status, alpha.readMaybe(m.MDNKey) != nil)
		}
	}
	if code := post(sig(beta), as2.Processed()); code != http.StatusOK {
		t.Fatalf("the partner's MDN: HTTP %d", code)
	}
	kept := alpha.readMaybe(m.MDNKey)
	if m = alpha.waitFinal(t, m.ID); m.Status != as2gate.StatusSent || kept == nil {
		t.Fatalf("status %s (%s), MDN kept %v", m.Status, m.Reason, kept != nil)
	}
	if code := post(sig(beta), failed); code != http.StatusOK {
		t.Fatalf("a repeated MDN: HTTP %d", code)
	}
	if got, _ := alpha.store.GetMessage(context.Background(), m.ID); got.Status != as2gate.StatusSent || !bytes.Equal(alpha.readMaybe(m.MDNKey), kept) {
		t.Fatalf("a repeated MDN changed the message: %s, or its receipt", got.Status)
	}
}

// TestLeaseLost: a worker whose job another worker has taken over stops
// its attempt and leaves the message and the job to the new owner.
func TestLeaseLost(t *testing.T) {
	alpha := newNodeWith(t, "ALPHA", func(o *gateway.Options) { o.Lease = 300 * time.Millisecond })
	beta := newNode(t, "BETA")
	aborted, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
			close(aborted)
		case <-release:
		}
	}))
	defer hang.Close()
	p := alpha.partnerOf(t, beta, func(p *as2gate.Partner) { p.URL = hang.URL })
	m := alpha.send(t, p, "a.x12", []byte("ISA~"))
	ctx := context.Background()
	waitFor(t, 10*time.Second, func() bool {
		m, _ = alpha.store.GetMessage(ctx, m.ID)
		return m.Status == as2gate.StatusSending
	})
	stolen, err := alpha.store.ClaimJob(ctx, "another node", time.Now().Add(time.Hour), time.Hour)
	if err != nil || stolen == nil || stolen.MessageID != m.ID {
		t.Fatalf("taking the job over: %+v %v", stolen, err)
	}
	select {
	case <-aborted:
	case <-time.After(10 * time.Second):
		t.Fatal("the attempt went on after its lease was lost")
	}
	time.Sleep(200 * time.Millisecond) // time to record, were it to
	got, _ := alpha.store.GetMessage(ctx, m.ID)
	jobs, _ := alpha.store.ListJobs(ctx, m.ID)
	if got.Status != as2gate.StatusSending || len(jobs) != 1 || jobs[0].LeaseOwner != "another node" {
		t.Fatalf("status %s (%s), jobs %+v", got.Status, got.Reason, jobs)
	}
}

// TestExpiredCertificate: sending to an expired certificate fails at once, with the reason.
func TestExpiredCertificate(t *testing.T) {
	alpha, beta := newNode(t, "ALPHA"), newNode(t, "BETA")
	_, cert, err := pki.GenerateSelfSigned(pki.SelfSignedOptions{CommonName: "old", KeyBits: 2048, ValidYears: 1, Now: time.Now().AddDate(-2, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	old, err := alpha.gw.ImportCertificate(context.Background(), "old", pki.EncodeCertPEM(cert), "")
	if err != nil {
		t.Fatal(err)
	}
	p := alpha.partnerOf(t, beta, func(p *as2gate.Partner) { p.EncryptCertID = old.ID })
	m := alpha.waitFinal(t, alpha.send(t, p, "a.x12", []byte("ISA~")).ID)
	if m.Status != as2gate.StatusFailed || !strings.Contains(m.Reason, "expired") || m.Attempts != 1 {
		t.Fatalf("status %s after %d attempts: %s", m.Status, m.Attempts, m.Reason)
	}
}

// TestSendFolder: a file dropped in AS2/send/<station>/<partner>/ is sent
// once; an interrupted pickup is finished.
func TestSendFolder(t *testing.T) {
	alpha, beta := newNode(t, "ALPHA"), newNode(t, "BETA")
	alpha.partnerOf(t, beta, nil)
	beta.partnerOf(t, alpha, nil)
	dir := filepath.Join(alpha.dir, "AS2", "send", "ALPHA", "BETA")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "po.x12"), []byte("ISA*dropped~"), 0o644)
	// A pickup that a crash interrupted after the rename.
	stuck := filepath.Join(alpha.dir, "AS2", "tmp", "pickup", as2gate.NewID(), "ALPHA", "BETA")
	os.MkdirAll(stuck, 0o755)
	os.WriteFile(filepath.Join(stuck, "stuck.x12"), []byte("ISA*stuck~"), 0o644)

	waitFor(t, 15*time.Second, func() bool { return len(beta.inbound(t)) == 2 })
	got := map[string]string{}
	for _, m := range beta.inbound(t) {
		got[m.Files[0].Name] = string(beta.readFile(t, m, 0))
	}
	if got["po.x12"] != "ISA*dropped~" || got["stuck.x12"] != "ISA*stuck~" {
		t.Fatalf("received %v", got)
	}
	if fileExists(filepath.Join(dir, "po.x12")) {
		t.Fatal("the dropped file is still in the send folder")
	}
	time.Sleep(300 * time.Millisecond) // a few more scans: nothing is sent twice
	if n := len(beta.inbound(t)); n != 2 {
		t.Fatalf("%d messages received", n)
	}
}

// TestCancel: a queued message can be canceled and is never sent.
func TestCancel(t *testing.T) {
	alpha, beta := newNode(t, "ALPHA"), newNode(t, "BETA")
	p := alpha.partnerOf(t, beta, func(p *as2gate.Partner) { p.URL = newFailing(t); p.Retries = 5; p.RetryDelay = time.Hour })
	m := alpha.send(t, p, "a.x12", []byte("ISA~"))
	waitFor(t, 10*time.Second, func() bool {
		got, _ := alpha.store.GetMessage(context.Background(), m.ID)
		return got.Status == as2gate.StatusQueued && got.Attempts == 1
	})
	if _, err := alpha.gw.Cancel(context.Background(), m.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := alpha.store.GetMessage(context.Background(), m.ID)
	jobs, _ := alpha.store.ListJobs(context.Background(), m.ID)
	if got.Status != as2gate.StatusCanceled || len(jobs) != 0 {
		t.Fatalf("status %s, %d jobs", got.Status, len(jobs))
	}
	if _, err := alpha.gw.Cancel(context.Background(), m.ID); as2gate.ErrorCode(err) != as2gate.EConflict {
		t.Fatalf("second cancel: %v", err)
	}
}

// TestCertificateRollover: during a rollover, messages encrypted to the
// station's next certificate, and signed with the partner's next one, are accepted.
func TestCertificateRollover(t *testing.T) {
	alpha, beta := newNode(t, "ALPHA"), newNode(t, "BETA")
	ctx := context.Background()
	next, err := beta.gw.ImportCertificate(ctx, "BETA next", identityP12(t, "BETA-next"), "pw")
	if err != nil {
		t.Fatal(err)
	}
	beta.station.NextCertID = next.ID
	if err := beta.gw.UpdateStation(ctx, beta.station); err != nil {
		t.Fatal(err)
	}
	// Alpha already encrypts to beta's next certificate.
	nextPEM, _ := beta.gw.CertificatePEM(ctx, next.ID)
	alphaView, err := alpha.gw.ImportCertificate(ctx, "BETA next", nextPEM, "")
	if err != nil {
		t.Fatal(err)
	}
	// It encrypts to beta's next certificate, and still checks beta's
	// signatures with the current one.
	p := alpha.partnerOf(t, beta, func(p *as2gate.Partner) { p.SignCertID, p.EncryptCertID = p.EncryptCertID, alphaView.ID })
	beta.partnerOf(t, alpha, nil)
	m := alpha.waitFinal(t, alpha.send(t, p, "a.x12", []byte("ISA~")).ID)
	if m.Status != as2gate.StatusSent {
		t.Fatalf("to the next certificate: %s %s", m.Status, m.Reason)
	}
	// Beta promotes: its MDNs are now signed with the next key, which
	// alpha accepts as its partner's next certificate.
	if _, err := beta.gw.PromoteNextCertificate(ctx, beta.station.ID); err != nil {
		t.Fatal(err)
	}
	p.NextCertID = alphaView.ID
	if err := alpha.gw.UpdatePartner(ctx, p); err != nil {
		t.Fatal(err)
	}
	m = alpha.waitFinal(t, alpha.send(t, p, "b.x12", []byte("ISA~")).ID)
	if m.Status != as2gate.StatusSent {
		t.Fatalf("after promotion: %s %s", m.Status, m.Reason)
	}
}

// TestMICMismatch: a partner whose MDN states another MIC than the one
// sent gets the message marked mic_mismatch, its own visible outcome.
func TestMICMismatch(t *testing.T) {
	alpha := newNode(t, "ALPHA")
	betaID, _ := pki.Parse(identityP12(t, "BETA"), "pw")
	alphaID, _ := pki.Parse(identityP12(t, "ALPHA"), "pw")
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := headerOfRequest(r)
		msg, err := as2.Parse(h, r.Body, as2.ParseOptions{TempDir: t.TempDir(),
			Decrypt: []cms.Recipient{{Cert: betaID.Certs[0], Key: betaID.Key.(crypto.Decrypter)}},
			Verify:  []*x509.Certificate{alphaID.Certs[0]}})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer msg.Close()
		wrong := msg.MIC
		wrong.Digest = append([]byte{}, wrong.Digest...)
		wrong.Digest[0] ^= 1
		mdn, err := as2.BuildMDN(as2.MDNOptions{From: "BETA", To: "ALPHA", OriginalMessageID: msg.MessageID, Disposition: as2.Processed(),
			MIC: &wrong, Sign: signer(betaID)})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		for _, f := range mdn.Header.Fields {
			w.Header().Add(f.Name, f.Value)
		}
		w.Write(mdn.Body)
	}))
	defer fake.Close()
	pem := pki.EncodeCertPEM(betaID.Certs[0])
	c, err := alpha.gw.ImportCertificate(context.Background(), "BETA", pem, "")
	if err != nil {
		t.Fatal(err)
	}
	p := &as2gate.Partner{AS2ID: "BETA", URL: fake.URL, EncryptCertID: c.ID, Sign: "sha256", Encrypt: "aes256-cbc",
		MDN: as2gate.MDNSync, MDNSigned: true, RetryDelay: time.Second}
	if err := alpha.gw.CreatePartner(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	m := alpha.waitFinal(t, alpha.send(t, p, "a.x12", []byte("ISA~")).ID)
	if m.Status != as2gate.StatusMICMismatch || m.MICMatched == nil || *m.MICMatched || m.Attempts != 1 {
		t.Fatalf("status %s, MIC matched %v, attempts %d: %s", m.Status, m.MICMatched, m.Attempts, m.Reason)
	}
}

// TestBodyLimit: a request larger than the configured limit is refused
// with 413 and leaves nothing behind.
func TestBodyLimit(t *testing.T) {
	beta := newNodeWith(t, "BETA", func(o *gateway.Options) { o.MaxBodySize = 1000 })
	alpha := newNode(t, "ALPHA")
	p := alpha.partnerOf(t, beta, nil)
	beta.partnerOf(t, alpha, nil)
	resp, body := postRaw(t, alpha, p, beta, func(_ http.Header, b []byte) []byte { return append(b, make([]byte, 2000)...) })
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if tmp, _ := os.ReadDir(beta.blobs.TempDir()); len(tmp) != 0 {
		t.Fatalf("%d temporary files left", len(tmp))
	}
	if got := beta.inbound(t); len(got) != 0 {
		t.Fatalf("%d messages recorded", len(got))
	}
}

func headerOfRequest(r *http.Request) mime.Header { return mimeHeader(r.Header) }

func mimeHeader(hh http.Header) (h mime.Header) {
	for name, vs := range hh {
		for _, v := range vs {
			h.Add(name, v)
		}
	}
	return h
}

// TestRawCopyOfEarlyRefusal: a partner that answers before it has read the
// whole message (and goes on reading) leaves us a raw copy of everything
// that was sent, not of what was sent by the time the answer came.
func TestRawCopyOfEarlyRefusal(t *testing.T) {
	alpha, beta := newNode(t, "ALPHA"), newNode(t, "BETA")
	var received atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
			t.Error(err)
		}
		http.Error(w, "no thanks", http.StatusServiceUnavailable)
		w.(http.Flusher).Flush()
		time.Sleep(300 * time.Millisecond) // the sender has its answer and is still sending
		n, _ := io.Copy(io.Discard, r.Body)
		received.Store(n)
	}))
	t.Cleanup(srv.Close)
	p := alpha.partnerOf(t, beta, func(p *as2gate.Partner) { p.URL, p.Retries, p.Encrypt = srv.URL, 0, "" })
	content := append(bytes.Repeat([]byte("ISA*00*0123456789~"), 1<<19), "IEA*1*000000001~"...) // 9 MiB
	m := alpha.waitFinal(t, alpha.send(t, p, "big.x12", content).ID)
	if m.Status != as2gate.StatusFailed || !strings.Contains(m.Reason, "503") {
		t.Fatalf("status %s: %s", m.Status, m.Reason)
	}
	raw := alpha.readMaybe(m.RawKey)
	_, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok || int64(len(body)) != received.Load() || !bytes.Contains(body, []byte("IEA*1*000000001~")) {
		t.Fatalf("raw copy has %d body bytes (header found: %v), the partner read %d", len(body), ok, received.Load())
	}
}

// TestPartnerCookiesAreNotKept: a cookie a partner's server sets with its
// MDN is not kept with the MDN.
func TestPartnerCookiesAreNotKept(t *testing.T) {
	alpha, beta := newNode(t, "ALPHA"), newNode(t, "BETA")
	target, _ := url.Parse(beta.srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "session=secret-session")
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p := alpha.partnerOf(t, beta, func(p *as2gate.Partner) { p.URL = srv.URL + "/as2" })
	beta.partnerOf(t, alpha, nil)
	m := alpha.waitFinal(t, alpha.send(t, p, "a.x12", []byte("ISA~")).ID)
	if m.Status != as2gate.StatusSent {
		t.Fatalf("status %s: %s", m.Status, m.Reason)
	}
	if mdn := alpha.readMaybe(m.MDNKey); len(mdn) == 0 || bytes.Contains(mdn, []byte("secret-session")) {
		t.Fatalf("MDN kept: %q", mdn)
	}
}

// TestDuplicateKeepsMDNWithheld: sending an unsigned message again does
// not get its async MDN sent where the first one was withheld.
func TestDuplicateKeepsMDNWithheld(t *testing.T) {
	alpha, beta := newNode(t, "ALPHA"), newNode(t, "BETA")
	var hits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(evil.Close)
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1) + "/steal" // not the partner's host
	p2 := beta.partnerOf(t, alpha, nil)
	const msgID = "<review-replay@alpha>"
	postUnsigned(t, alpha, beta, msgID, evilURL)
	m, err := beta.store.FindMessage(context.Background(), p2.ID, as2gate.Inbound, msgID)
	if err != nil || m.Status != as2gate.StatusReceived || m.MDNStatus != "withheld" {
		t.Fatalf("first: %v %+v", err, m)
	}
	time.Sleep(time.Second)
	if hits.Load() != 0 {
		t.Fatal("first one was sent")
	}
	// The same again: a duplicate.
	postUnsigned(t, alpha, beta, msgID, evilURL)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && hits.Load() == 0 {
		time.Sleep(50 * time.Millisecond)
	}
	m, _ = beta.store.GetMessage(context.Background(), m.ID)
	t.Logf("stored: MDN %s %s url %s", m.MDNMode, m.MDNStatus, m.MDNURL)
	if hits.Load() > 0 {
		t.Fatalf("the MDN was POSTed to %s for an unsigned duplicate (withheld rule bypassed)", evilURL)
	}
}

// TestMDNErrorsHideURLSecrets: a failed async MDN delivery keeps no secret
// of the URL in the job's error (the HTTP client's error quotes the URL).
func TestMDNErrorsHideURLSecrets(t *testing.T) {
	alpha, beta := newNode(t, "ALPHA"), newNode(t, "BETA")
	p2 := beta.partnerOf(t, alpha, nil)
	// On the partner's host (alpha.srv is 127.0.0.1), so not withheld; nothing listens on port 1.
	mdnURL := "http://127.0.0.1:1/mdn?token=TOPSECRET"
	const msgID = "<review-redact@alpha>"
	postUnsigned(t, alpha, beta, msgID, mdnURL)
	m, err := beta.store.FindMessage(context.Background(), p2.ID, as2gate.Inbound, msgID)
	if err != nil || m.MDNMode != as2gate.MDNAsync || m.MDNStatus == "withheld" { // queued, or tried already
		t.Fatalf("%v %+v", err, m)
	}
	var last string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && last == "" {
		jobs, _ := beta.store.ListJobs(context.Background(), m.ID)
		for _, j := range jobs {
			last += j.LastError
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("job error: %s", last)
	if strings.Contains(last, "TOPSECRET") {
		t.Fatal("the MDN URL's token is stored in the job's error")
	}
}
