package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/pki"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// cli runs the binary on one installation (a data folder).
type cli struct {
	t    *testing.T
	data string
}

func newCLI(t *testing.T) *cli { return &cli{t: t, data: t.TempDir()} }

func (c *cli) run(args ...string) (string, string, int) {
	c.t.Helper()
	return runBinary(c.t, append(args, "--data", c.data)...)
}

// ok runs a command that must succeed and returns its stdout.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, stderr, status := c.run(args...)
	if status != 0 {
		c.t.Fatalf("as2gate %s: status %d: %s", strings.Join(args, " "), status, stderr)
	}
	return out
}

// json runs a command with --json that must succeed and decodes its output.
func (c *cli) json(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("as2gate %s printed no JSON (%v): %s", strings.Join(args, " "), err, out)
	}
}

// fail runs a command that must fail with a message saying want.
func (c *cli) fail(want string, args ...string) {
	c.t.Helper()
	out, stderr, status := c.run(args...)
	if status == 0 || !strings.Contains(stderr, want) || strings.Count(stderr, "\n") > 3 {
		c.t.Fatalf("as2gate %s: status %d, stderr %q, stdout %q; want a failure saying %q", strings.Join(args, " "), status, stderr, out, want)
	}
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestManageCommands(t *testing.T) {
	c := newCLI(t)
	files := t.TempDir()
	bKey, bCert := testpeer.NewIdentity(t, "station B").WritePEM(t, files, "b")
	partner := testpeer.NewIdentity(t, "partner X")
	xCert := writeFile(t, filepath.Join(files, "x.pem"), pki.EncodeCertPEM(partner.Cert))
	xNext := writeFile(t, filepath.Join(files, "x-next.pem"), pki.EncodeCertPEM(testpeer.NewIdentity(t, "partner X next").Cert))

	var a, b client.Station
	c.json(&a, "station", "create", "--as2-id", "A", "--name", "Station A", "--email", "ops@example.com")
	c.json(&b, "station", "create", "--as2-id", "B", "--key", bKey, "--cert", bCert)
	if a.AS2ID != "A" || a.Name != "Station A" || a.Email != "ops@example.com" || a.CertID == "" || b.CertID == "" {
		t.Fatalf("stations %+v %+v", a, b)
	}
	c.fail(`a station with AS2 ID "A" already exists`, "station", "create", "--as2-id", "A")
	c.fail("--as2-id is required", "station", "create", "--name", "x")
	c.fail("no certificate for the key", "station", "create", "--as2-id", "C", "--key", bKey, "--cert", xCert)

	var stations []client.Station
	c.json(&stations, "station", "list")
	if len(stations) != 2 || stations[0].ID != a.ID || stations[1].ID != b.ID {
		t.Fatalf("station list %+v", stations)
	}
	var shown client.Station
	c.json(&shown, "station", "show", b.ID)
	if shown != b {
		t.Fatalf("station show %+v, want %+v", shown, b)
	}
	if human := c.ok("station", "show", "A"); !strings.Contains(human, "Station A") || !strings.Contains(human, "days left") {
		t.Fatalf("station show:\n%s", human)
	}
	c.fail("station with AS2 ID NOPE not found", "station", "show", "NOPE")

	// B's certificate: the one imported, whose key never leaves.
	bPEM := c.ok("station", "cert", "B")
	want, _ := os.ReadFile(bCert)
	if bPEM != string(want) {
		t.Fatalf("station cert B:\n%s\nwant\n%s", bPEM, want)
	}

	// A's certificate, exported, becomes partner A's: the same record.
	aPEM := writeFile(t, filepath.Join(files, "a.pem"), []byte(c.ok("station", "cert", "A")))
	var pa client.Partner
	c.json(&pa, "partner", "create", "--as2-id", "A", "--url", "http://127.0.0.1:9/as2", "--cert", aPEM)
	if pa.EncryptCertID != a.CertID || pa.Sign != "sha256" || pa.Encrypt != "aes256-cbc" || pa.Compress != "none" ||
		pa.MDN != "sync" || !pa.MDNSigned || pa.TimeoutSeconds != 120 {
		t.Fatalf("partner A %+v (station A's certificate %s)", pa, a.CertID)
	}
	var px client.Partner
	c.json(&px, "partner", "create", "--as2-id", "X", "--name", "Partner X", "--url", "https://x.example/as2", "--cert", xCert,
		"--sign", "sha512", "--pss", "--encrypt", "aes128-gcm", "--oaep", "sha256", "--compress", "before", "--mdn", "async",
		"--mdn-signed=false", "--subject", "Orders", "--timeout", "60s", "--retries", "2", "--retry-delay", "10s", "--mdn-timeout", "1h",
		"--header", "X-Route=eu", "--header", "X-Tenant=7", "--chunked", "--require-signed")
	if px.Sign != "sha512" || !px.SignPSS || px.Encrypt != "aes128-gcm" || px.KeyTransport != "oaep-sha256" || px.Compress != "before" ||
		px.MDN != "async" || px.MDNSigned || px.Subject != "Orders" || px.TimeoutSeconds != 60 || px.Retries != 2 ||
		px.RetryDelaySeconds != 10 || px.MDNTimeoutSeconds != 3600 || len(px.Headers) != 2 || px.Headers[1].Value != "7" ||
		!px.Chunked || !px.RequireSigned || px.RequireEncrypted {
		t.Fatalf("partner X %+v", px)
	}
	c.fail(`partner with AS2 ID "A" already exists`, "partner", "create", "--as2-id", "A", "--url", "http://a/as2", "--cert", aPEM)
	c.fail(`sign: unknown or unsupported digest "md9"`, "partner", "create", "--as2-id", "Y", "--url", "http://y/as2", "--cert", xCert, "--sign", "md9")
	c.fail(`encrypt: unknown or receive-only cipher "rot13"`, "partner", "create", "--as2-id", "Y", "--url", "http://y/as2", "--cert", xCert, "--encrypt", "rot13")
	c.fail("encryption needs the partner's certificate", "partner", "create", "--as2-id", "Y", "--url", "http://y/as2")
	c.fail("partner with AS2 ID NOPE not found", "partner", "show", "NOPE")

	// A rollover of X's certificate, then its end.
	var rolled client.Partner
	c.json(&rolled, "partner", "update", "X", "--next-cert", xNext)
	if rolled.NextCertID == "" || rolled.EncryptCertID != px.EncryptCertID || rolled.Subject != "Orders" || rolled.MDNSigned {
		t.Fatalf("rollover %+v", rolled)
	}
	var ended client.Partner // fresh: JSON leaves an empty next_cert_id out
	c.json(&ended, "partner", "update", "X", "--cert", xNext, "--next-cert", "", "--mdn-signed")
	if ended.NextCertID != "" || ended.EncryptCertID != rolled.NextCertID || !ended.MDNSigned || ended.Sign != "sha512" {
		t.Fatalf("end of rollover %+v", ended)
	}
	var partners []client.Partner
	c.json(&partners, "partner", "list")
	if len(partners) != 2 || partners[0].AS2ID != "A" || partners[1].AS2ID != "X" {
		t.Fatalf("partner list %+v", partners)
	}

	// Certificates.
	var certs []client.Certificate
	c.json(&certs, "cert", "list")
	if len(certs) != 4 { // A, B, X, X next: A's served station and partner
		t.Fatalf("%d certificates: %+v", len(certs), certs)
	}
	var gen client.Certificate
	c.json(&gen, "cert", "generate", "--name", "spare", "--common-name", "spare.example.com", "--key-bits", "3072", "--valid-years", "1")
	if gen.Name != "spare" || !gen.HasPrivateKey || gen.DaysLeft < 360 || gen.DaysLeft > 366 || gen.Expired {
		t.Fatalf("generated %+v", gen)
	}
	if list := c.ok("cert", "list"); !strings.Contains(list, "spare.example.com") || !strings.Contains(list, "DAYS LEFT") {
		t.Fatalf("cert list:\n%s", list)
	}
	c.fail("key_bits: 1024: want 2048, 3072 or 4096", "cert", "generate", "--common-name", "x", "--key-bits", "1024")
	exported := c.ok("cert", "export", gen.ID)
	if !strings.HasPrefix(exported, "-----BEGIN CERTIFICATE-----") || strings.Contains(exported, "PRIVATE") {
		t.Fatalf("cert export:\n%s", exported)
	}
	c.fail("is used by", "cert", "delete", a.CertID)
	c.ok("cert", "delete", gen.ID)
	c.fail("not found", "cert", "show", gen.ID)

	// A PKCS#12 with its password from the environment; then again: stored already.
	p12, _ := pki.EncodePKCS12(partner.Key, partner.Cert, nil, "s3cret")
	p12Path := writeFile(t, filepath.Join(files, "x.p12"), p12)
	c.fail("password: wrong or missing password", "cert", "import", p12Path)
	t.Setenv("AS2GATE_KEY_PASSWORD", "s3cret")
	c.fail("already stored", "cert", "import", "--name", "x with key", p12Path)
	c.fail("is stored without its private key", "station", "update", "B", "--next-cert-file", p12Path)
	fresh := testpeer.NewIdentity(t, "station B next")
	p12, _ = pki.EncodePKCS12(fresh.Key, fresh.Cert, nil, "s3cret")
	var bNext client.Station
	c.json(&bNext, "station", "update", "B", "--next-cert-file", writeFile(t, filepath.Join(files, "b-next.p12"), p12))
	if bNext.NextCertID == "" || bNext.CertID != b.CertID {
		t.Fatalf("station B with a next key pair %+v", bNext)
	}
	if got := c.ok("station", "cert", "B", "--next"); got != string(pki.EncodeCertPEM(fresh.Cert)) {
		t.Fatalf("station B's next certificate:\n%s", got)
	}
	c.fail("no certificate or private key found", "cert", "import", writeFile(t, filepath.Join(files, "junk"), []byte("junk")))
	c.fail("no such file", "cert", "import", aPEM+"-missing")
	c.fail("not a certificate", "cert", "import", writeFile(t, filepath.Join(files, "big"), make([]byte, 2<<20)))

	// A station key pair rollover.
	var st client.Station
	c.json(&st, "station", "update", "A", "--generate-next", "--common-name", "A 2027", "--description", "rolled")
	if st.NextCertID == "" || st.CertID != a.CertID || st.Description != "rolled" || st.Name != "Station A" {
		t.Fatalf("rollover %+v", st)
	}
	next := c.ok("station", "cert", "A", "--next")
	if next == c.ok("station", "cert", "A") || !strings.HasPrefix(next, "-----BEGIN CERTIFICATE-----") {
		t.Fatal("the next certificate is the current one")
	}
	var promoted client.Station
	c.json(&promoted, "station", "update", "A", "--promote")
	if promoted.CertID != st.NextCertID || promoted.NextCertID != "" {
		t.Fatalf("promoted %+v", promoted)
	}
	c.fail("nothing to change", "station", "update", "A")
	c.fail("has no next certificate", "station", "cert", "A", "--next")

	// Sending with no server running: the message waits, queued.
	payload := writeFile(t, filepath.Join(files, "order.x12"), []byte("ISA*00*~GS*PO~ST*850~\n"))
	var sent client.Message
	c.json(&sent, "send", "--station", "A", "--partner", "X", "--subject", "PO 1", payload)
	if sent.Status != "queued" || sent.MessageID == "" || len(sent.Files) != 1 || sent.Files[0].Name != "order.x12" {
		t.Fatalf("sent %+v", sent)
	}
	if human := c.ok("send", "--station", "A", "--partner", "X", payload); !strings.Contains(human, "queued") || !strings.Contains(human, "Message-ID:") {
		t.Fatalf("send:\n%s", human)
	}
	c.fail(`partner: no partner "NOPE"`, "send", "--station", "A", "--partner", "NOPE", payload)
	c.fail("no such file", "send", "--station", "A", "--partner", "X", payload+".missing")
	var list client.List[client.Message]
	c.json(&list, "message", "list", "--direction", "out", "--status", "queued")
	if len(list.Items) != 2 || list.Items[1].ID != sent.ID || list.Items[1].Status != "queued" || list.Items[1].Subject != "PO 1" {
		t.Fatalf("message list %+v", list)
	}
	c.json(&list, "message", "list", "--limit", "1")
	if len(list.Items) != 1 || list.NextCursor == "" {
		t.Fatalf("first page %+v", list)
	}
	c.json(&list, "message", "list", "--limit", "1", "--cursor", list.NextCursor)
	if len(list.Items) != 1 || list.Items[0].ID != sent.ID {
		t.Fatalf("second page %+v", list)
	}
	c.json(&list, "message", "list", "--direction", "in")
	if len(list.Items) != 0 {
		t.Fatalf("received %+v", list)
	}
	c.fail(`direction: "sideways": want in or out`, "message", "list", "--direction", "sideways")
	if got := c.ok("message", "download", sent.ID); got != "ISA*00*~GS*PO~ST*850~\n" {
		t.Fatalf("download %q", got)
	}
	// --out names a directory, made when missing, when it ends with a
	// slash or the message has several files; else the one file.
	invoice := writeFile(t, filepath.Join(files, "invoice.edi"), []byte("UNB+UNOA:2+A+X'\n"))
	var two client.Message
	c.json(&two, "send", "--station", "A", "--partner", "X", payload, invoice)
	outs := t.TempDir()
	for _, d := range []struct {
		name, id, out string
		want          []string // the files written, under outs
		dirs          []string // the directories made, under outs
	}{
		{"existing directory", sent.ID, outs, []string{"order.x12"}, nil},
		{"new directory, slash", sent.ID, filepath.Join(outs, "a", "b") + string(filepath.Separator), []string{"a/b/order.x12"}, []string{"a", "a/b"}},
		{"new directory, two files", two.ID, filepath.Join(outs, "c"), []string{"c/order.x12", "c/invoice.edi"}, []string{"c"}},
		{"new file", sent.ID, filepath.Join(outs, "po.x12"), []string{"po.x12"}, nil},
	} {
		c.ok("message", "download", d.id, "--out", d.out)
		for _, f := range d.want {
			if data, err := os.ReadFile(filepath.Join(outs, f)); err != nil || len(data) == 0 {
				t.Errorf("%s: %s: %q, %v", d.name, f, data, err)
			}
		}
		for _, dir := range d.dirs {
			if fi, err := os.Stat(filepath.Join(outs, dir)); err != nil || fi.Mode().Perm() != 0o750 {
				t.Errorf("%s: directory %s: %v, %v; want mode 0750", d.name, dir, fi, err)
			}
		}
	}
	c.fail("has no MDN", "message", "mdn", sent.ID)
	c.fail("is still queued", "message", "resend", sent.ID)

	// Deleting: refused while messages are in progress.
	c.fail(`station "A" has 3 message(s) in progress`, "station", "delete", "A")
	var canceled client.Message
	c.json(&canceled, "message", "cancel", sent.ID)
	if canceled.Status != "canceled" {
		t.Fatalf("canceled %+v", canceled)
	}
	c.ok("station", "delete", "B")
	c.fail("not found", "station", "show", "B")
	c.ok("partner", "delete", "A")
	c.json(&partners, "partner", "list")
	if len(partners) != 1 {
		t.Fatalf("partners after delete %+v", partners)
	}
}

func TestManageHelp(t *testing.T) {
	groups := map[string][]string{
		"station": {"create", "list", "show", "update", "delete", "cert"},
		"partner": {"create", "list", "show", "update", "delete"},
		"cert":    {"list", "show", "import", "generate", "export", "delete"},
		"message": {"list", "show", "download", "mdn", "resend", "cancel"},
		"send":    nil,
	}
	for group, subs := range groups {
		t.Run(group, func(t *testing.T) {
			out, stderr, status := runBinary(t, group, "--help")
			if status != 0 || !strings.Contains(out+stderr, "usage: as2gate "+group) {
				t.Fatalf("as2gate %s --help: status %d: %s%s", group, status, out, stderr)
			}
			for _, s := range subs {
				if !strings.Contains(out, "  "+s+" ") {
					t.Errorf("as2gate %s --help does not list %s", group, s)
				}
				out, stderr, status := runBinary(t, group, s, "--help")
				if status != 0 || !strings.Contains(stderr, "usage: as2gate "+group+" "+s) || !strings.Contains(stderr, "-data") {
					t.Errorf("as2gate %s %s --help: status %d: %s%s", group, s, status, out, stderr)
				}
			}
		})
	}
	if _, stderr, status := runBinary(t, "station", "frobnicate"); status != 2 || !strings.Contains(stderr, `unknown subcommand "frobnicate"`) {
		t.Fatalf("unknown subcommand: status %d: %s", status, stderr)
	}
	if _, _, status := runBinary(t, "station"); status != 2 {
		t.Fatalf("no subcommand: status %d", status)
	}
}

// TestManageWhileServing: the CLI works on the installation that a running
// `as2gate serve` uses, which sends what the CLI queues.
func TestManageWhileServing(t *testing.T) {
	c := newCLI(t)
	as2URL := startServer(t, c.data)
	files := t.TempDir()
	for _, id := range []string{"A", "B"} {
		c.ok("station", "create", "--as2-id", id)
		cert := writeFile(t, filepath.Join(files, id+".pem"), []byte(c.ok("station", "cert", id)))
		c.ok("partner", "create", "--as2-id", id, "--url", as2URL, "--cert", cert)
	}
	content := bytes.Repeat([]byte("UNB+UNOA:2+A+B'\r\n"), 5000)
	payload := writeFile(t, filepath.Join(files, "invoice.edi"), content)

	var sent client.Message
	c.json(&sent, "send", "--station", "A", "--partner", "B", "--wait", "--wait-timeout", "30s", payload)
	if sent.Status != "sent" || sent.MDNDisposition == "" || sent.MICMatched == nil || !*sent.MICMatched || !sent.Signed || !sent.Encrypted {
		t.Fatalf("sent %+v", sent)
	}
	var in client.List[client.Message]
	c.json(&in, "message", "list", "--direction", "in")
	if len(in.Items) != 1 {
		t.Fatalf("received %+v", in)
	}
	got := in.Items[0]
	if got.MessageID != sent.MessageID || got.Status != "received" || got.StationAS2ID != "B" || got.PartnerAS2ID != "A" ||
		len(got.Files) != 1 || got.Files[0].Name != "invoice.edi" {
		t.Fatalf("received %+v, sent %+v", got, sent)
	}
	if data := c.ok("message", "download", got.ID); data != string(content) {
		t.Fatalf("downloaded %d bytes, sent %d", len(data), len(content))
	}
	dir := t.TempDir()
	c.ok("message", "download", got.ID, "--out", dir)
	if data, err := os.ReadFile(filepath.Join(dir, "invoice.edi")); err != nil || !bytes.Equal(data, content) {
		t.Fatalf("downloaded into a directory: %d bytes, %v", len(data), err)
	}
	c.ok("message", "download", got.ID, "--index", "0", "--out", filepath.Join(dir, "copy"))
	if data, err := os.ReadFile(filepath.Join(dir, "copy")); err != nil || !bytes.Equal(data, content) {
		t.Fatalf("downloaded to a file: %d bytes, %v", len(data), err)
	}
	c.fail("has no file 1", "message", "download", got.ID, "--index", "1")
	for _, id := range []string{sent.ID, got.ID} { // the MDN received, and the one returned
		if mdn := c.ok("message", "mdn", id); !strings.Contains(mdn, sent.MessageID) || !strings.Contains(strings.ToLower(mdn), "disposition-notification") {
			t.Fatalf("MDN of %s:\n%s", id, mdn)
		}
	}
}

// startServer runs `as2gate serve` on a data folder and returns the URL of
// its AS2 listener.
func startServer(t *testing.T, data string) string {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--data", data, "--as2-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "AS2GATE_ADMIN_PASSWORD=not-printed")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("as2gate serve logged:\n%s", logs.String())
		}
	})
	urls := make(chan string, 1)
	go func() {
		addr := regexp.MustCompile(`AS2 listener \(partners\):\s+(http://\S+/as2)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := addr.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
				break
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case u := <-urls:
		return u
	case <-exited:
		t.Fatalf("as2gate serve exited: %s", logs.String())
	case <-time.After(15 * time.Second):
		t.Fatal("as2gate serve printed no AS2 address") // its logs follow, once it has stopped
	}
	return ""
}

func TestRowCleansControlCharacters(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain subject", "plain subject"},
		{"evil\x1b]0;pwned\x07", "evil?]0;pwned?"},
		{"two\r\nlines\ttab", "two??lines?tab"},
		{"C1 \u009b31m", "C1 ?31m"},
		{"ünïcödé", "ünïcödé"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		row(&b, tt.in, "x")
		if got := b.String(); got != tt.want+"\tx\n" {
			t.Errorf("row(%q) wrote %q, want %q", tt.in, got, tt.want+"\tx\n")
		}
	}
}

// TestDownloadFromAHostileServer: with --server, the names and indexes of
// files come from a server the CLI does not trust: a name is made safe
// before it reaches the file system, a file is asked for by its place in
// the list, and two files of one name are refused rather than overwritten.
func TestDownloadFromAHostileServer(t *testing.T) {
	const id = "06h1mp7v9gc93c7cpwctgvdb14"
	var names []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/v1/outbox/"+id:
			var files []client.File
			for i, n := range names {
				files = append(files, client.File{Index: 1000 + i, Name: n})
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(client.MessageDetail{Message: client.Message{ID: id, Direction: "out", Files: files}})
		case r.URL.Path == "/api/v1/outbox/"+id+"/files":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"items":[]}`)
		case strings.HasPrefix(r.URL.Path, "/api/v1/outbox/"+id+"/files/"):
			io.WriteString(w, "content of "+path.Base(r.URL.Path))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	download := func(out string) (string, int) {
		var stdout, stderr bytes.Buffer
		status := run([]string{"message", "download", "--server", srv.URL, "--token", "as2t_x", "--out", out, id}, &stdout, &stderr)
		return stderr.String(), status
	}

	root := t.TempDir()
	dir := filepath.Join(root, "a", "b")
	names = []string{"../../escaped.txt", `..\win.txt`, "CON", "order.x12"}
	if msg, status := download(dir + "/"); status != 0 {
		t.Fatalf("status %d: %s", status, msg)
	}
	for name, want := range map[string]string{"escaped.txt": "content of 0", "win.txt": "content of 1", "_CON": "content of 2", "order.x12": "content of 3"} {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != want {
			t.Errorf("%s: %q (%v), want %q", name, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "escaped.txt")); err == nil {
		t.Error("a file was written outside the folder")
	}

	names = []string{"order.x12", "ORDER.X12"}
	if msg, status := download(t.TempDir()); status == 0 || !strings.Contains(msg, "two files named") {
		t.Errorf("two files of one name: status %d, %s", status, msg)
	}
}
