package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/as2gate/as2gate/internal/testpeer"
)

// binary is the as2gate executable the end-to-end tests run.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "as2gate-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "as2gate")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runBinary runs the binary and returns stdout, stderr and the exit status.
func runBinary(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	status := 0
	if ee, ok := err.(*exec.ExitError); ok {
		status = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), status
}

func inspectJSON(t *testing.T, args ...string) (inspectReport, int) {
	t.Helper()
	out, stderr, status := runBinary(t, append([]string{"inspect", "--json"}, args...)...)
	var rep inspectReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("inspect printed no JSON (%v): %s %s", err, out, stderr)
	}
	return rep, status
}

func TestBuildThenInspect(t *testing.T) {
	dir := t.TempDir()
	sender := testpeer.NewIdentity(t, "sender")
	receiver := testpeer.NewIdentity(t, "receiver")
	sKey, sCert := sender.WritePEM(t, dir, "sender")
	rKey, rCert := receiver.WritePEM(t, dir, "receiver")
	payload := filepath.Join(dir, "order 1.x12")
	os.WriteFile(payload, []byte("ISA*00*~GS*PO~ST*850~\n"), 0o644)

	tests := []struct {
		name  string
		flags []string
		want  func(inspectReport) bool
	}{
		{"sha256 aes256-cbc compressed", []string{"--sign", "sha256", "--encrypt", "aes256-cbc", "--compress", "before"},
			func(r inspectReport) bool {
				return r.Encryption.Algorithm == "aes256-cbc" && r.Signature.Digest == "sha256" && r.Compression == "before"
			}},
		{"pss gcm oaep", []string{"--sign", "sha384-pss", "--encrypt", "aes128-gcm", "--oaep", "sha256", "--compress", "after"},
			func(r inspectReport) bool {
				return r.Encryption.Algorithm == "aes128-gcm" && r.Encryption.KeyTransport == "rsaes-oaep-sha256" &&
					r.Signature.Scheme == "rsassa-pss" && r.Signature.Digest == "sha384" && r.Compression == "after"
			}},
		{"3des base64 body", []string{"--sign", "sha1", "--encrypt", "3des", "--base64"},
			func(r inspectReport) bool { return r.Encryption.Algorithm == "3des" && r.Signature.Digest == "sha1" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := filepath.Join(t.TempDir(), "request.txt")
			args := append([]string{"build", "--from", "Our Station", "--to", "partner", "--key", sKey, "--cert", sCert,
				"--partner-cert", rCert, "--mdn", "sync", "--mdn-signed", "--out", req}, tt.flags...)
			_, stderr, status := runBinary(t, append(args, payload)...)
			if status != 0 {
				t.Fatalf("build: status %d: %s", status, stderr)
			}
			mic := strings.TrimSpace(strings.SplitN(stderr[strings.Index(stderr, "Expected MIC: ")+len("Expected MIC: "):], "\n", 2)[0])
			out := t.TempDir()
			rep, status := inspectJSON(t, "--key", rKey, "--cert", rCert, "--partner-cert", sCert, "--out", out, req)
			if status != 0 {
				t.Fatalf("inspect: status %d: %s", status, rep.Error)
			}
			if !tt.want(rep) || !rep.Signature.Trusted || rep.From != "Our Station" || rep.To != "partner" {
				t.Fatalf("report %+v", rep)
			}
			if rep.MIC != mic {
				t.Fatalf("inspect states MIC %q, build expected %q", rep.MIC, mic)
			}
			got, err := os.ReadFile(filepath.Join(out, "order 1.x12"))
			if err != nil || !bytes.Equal(got, []byte("ISA*00*~GS*PO~ST*850~\n")) {
				t.Fatalf("payload written: %q %v", got, err)
			}
			if rep.MDNRequest == nil || !rep.MDNRequest.Signed {
				t.Fatalf("MDN request %+v", rep.MDNRequest)
			}
		})
	}
	t.Run("wrong key", func(t *testing.T) {
		req := filepath.Join(t.TempDir(), "request.txt")
		if _, stderr, status := runBinary(t, "build", "--from", "a", "--to", "b", "--partner-cert", rCert, "--encrypt", "aes256", "--out", req, payload); status != 0 {
			t.Fatal(stderr)
		}
		rep, status := inspectJSON(t, "--key", sKey, "--cert", sCert, req)
		if status != 1 || rep.Failure != "decryption-failed" {
			t.Fatalf("status %d, report %+v", status, rep)
		}
	})
	t.Run("bad signature", func(t *testing.T) {
		req := filepath.Join(t.TempDir(), "request.txt")
		if _, stderr, status := runBinary(t, "build", "--from", "a", "--to", "b", "--key", sKey, "--cert", sCert, "--sign", "sha256", "--out", req, payload); status != 0 {
			t.Fatal(stderr)
		}
		raw, _ := os.ReadFile(req)
		os.WriteFile(req, bytes.Replace(raw, []byte("GS*PO"), []byte("GS*PX"), 1), 0o644)
		rep, status := inspectJSON(t, "--partner-cert", sCert, req)
		if status != 1 || rep.Failure != "integrity-check-failed" {
			t.Fatalf("status %d, report %+v", status, rep)
		}
	})
}

func TestInspectFixtures(t *testing.T) {
	fx := func(name string) string { return testpeer.Fixture("pyas2lib-fixtures", name) }
	t.Run("Mendelson message", func(t *testing.T) {
		rep, status := inspectJSON(t, "--key", fx("cert_test.p12"), "--password", "test", "--partner-cert", fx("cert_mecas2_public.pem"),
			fx("mecas2_compressed_signed_encrypted.as2"))
		if status != 0 || rep.Kind != "message" || rep.Encryption.Algorithm != "3des" || rep.Compression != "before" ||
			len(rep.Parts) != 1 || rep.Parts[0].Filename != "payload.txt" || rep.Parts[0].Size != 620 {
			t.Fatalf("status %d, report %+v", status, rep)
		}
	})
	t.Run("Sterling MDN with the right MIC", func(t *testing.T) {
		rep, status := inspectJSON(t, "--partner-cert", fx("cert_sb2bi_public.pem"), "--expect-mic", "wNh76aEicfBurg/et2wio4zk/2I=, sha1", fx("sb2bi_signed.mdn"))
		if status != 0 || rep.Kind != "mdn" || rep.MICMatches == nil || !*rep.MICMatches || !rep.Signature.Trusted {
			t.Fatalf("status %d, report %+v", status, rep)
		}
	})
	t.Run("Sterling MDN with another MIC", func(t *testing.T) {
		rep, status := inspectJSON(t, "--expect-mic", "ANh76aEicfBurg/et2wio4zk/2I=, sha1", fx("sb2bi_signed.mdn"))
		if status != 1 || rep.MICMatches == nil || *rep.MICMatches {
			t.Fatalf("status %d, report %+v", status, rep)
		}
	})
	t.Run("Mendelson error MDN", func(t *testing.T) {
		rep, status := inspectJSON(t, fx("mecas2_unsigned.mdn"))
		if status != 1 || !strings.Contains(rep.Disposition, "authentication-failed") {
			t.Fatalf("status %d, report %+v", status, rep)
		}
	})
	t.Run("headers and body in two files", func(t *testing.T) {
		raw, _ := os.ReadFile(fx("mecas2_signed_encrypted.as2"))
		i := bytes.Index(raw, []byte("\n\r\n"))
		if i < 0 {
			i = bytes.Index(raw, []byte("\n\n"))
		}
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "h"), raw[:i+1], 0o644)
		os.WriteFile(filepath.Join(dir, "b"), raw[bytes.Index(raw[i+1:], []byte("\n"))+i+2:], 0o644)
		rep, status := inspectJSON(t, "--key", fx("cert_test.p12"), "--password", "test", filepath.Join(dir, "h"), filepath.Join(dir, "b"))
		if status != 0 || len(rep.Parts) != 1 {
			t.Fatalf("status %d, report %+v", status, rep)
		}
	})
}

// TestBuildOutputForOpenSSL: what 'as2gate build' writes, OpenSSL decrypts
// and verifies, and the MIC it prints is the digest of the signed part.
func TestBuildOutputForOpenSSL(t *testing.T) {
	openssl := testpeer.Command(t, "openssl")
	dir := t.TempDir()
	sKey, sCert := testpeer.NewIdentity(t, "sender").WritePEM(t, dir, "sender")
	rKey, rCert := testpeer.NewIdentity(t, "receiver").WritePEM(t, dir, "receiver")
	payload := filepath.Join(dir, "data.edi")
	os.WriteFile(payload, bytes.Repeat([]byte("UNB+UNOA:2'\r\n"), 100), 0o644)
	req := filepath.Join(dir, "req.txt")
	_, stderr, status := runBinary(t, "build", "--from", "a", "--to", "b", "--key", sKey, "--cert", sCert, "--sign", "sha256",
		"--partner-cert", rCert, "--encrypt", "aes192-cbc", "--out", req, payload)
	if status != 0 {
		t.Fatal(stderr)
	}
	raw, _ := os.ReadFile(req)
	body := raw[bytes.Index(raw, []byte("\r\n\r\n"))+4:]
	os.WriteFile(filepath.Join(dir, "body.der"), body, 0o644)
	testpeer.Run(t, dir, openssl, "cms", "-decrypt", "-binary", "-inform", "DER", "-in", "body.der", "-recip", rCert, "-inkey", rKey, "-out", "signed.mime")
	signed, _ := os.ReadFile(filepath.Join(dir, "signed.mime"))
	// -crlfeol: OpenSSL's S/MIME reader rewrites line ends to what it is
	// told, and every line of this message ends in CRLF.
	testpeer.Run(t, dir, openssl, "cms", "-verify", "-binary", "-crlfeol", "-in", "signed.mime", "-CAfile", sCert, "-purpose", "any", "-out", "payload.out")
	out, _ := os.ReadFile(filepath.Join(dir, "payload.out"))
	if !bytes.Contains(out, []byte("UNB+UNOA:2'")) || !bytes.Contains(signed, []byte("Content-Type: application/edifact")) {
		t.Fatalf("OpenSSL output %q", out)
	}
}
