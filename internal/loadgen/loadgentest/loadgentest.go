// Package loadgentest runs an AS2 receiver on 127.0.0.1 built from the
// real engine, for tests of the load generator: it decrypts and verifies
// each message and answers a signed synchronous MDN, or misbehaves in one
// chosen way.
package loadgentest

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/as2gate/as2gate/internal/as2"
	"github.com/as2gate/as2gate/internal/cms"
	"github.com/as2gate/as2gate/internal/mime"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// Fault is how the receiver misbehaves.
type Fault int

const (
	Healthy            Fault = iota
	WrongMIC                 // the MDN states a MIC other than the message's
	Unsigned                 // the MDN is not signed
	ErrorDisposition         // processed/error: decryption-failed
	WarningDisposition       // processed/warning
	ServerError              // HTTP 500 without an MDN
	ForeignSigner            // the MDN is signed by a key other than the receiver's
	WrongOriginalID          // the MDN answers another Message-ID
)

// Receiver is a running test receiver.
type Receiver struct {
	URL string

	fault    Fault
	sender   *testpeer.Identity // whose signatures are trusted
	receiver *testpeer.Identity // decrypts and signs MDNs
	signer   *testpeer.Identity // signs MDNs (the receiver unless ForeignSigner)
	dir      string

	mu       sync.Mutex
	messages int
	ids      map[string]bool
	payloads map[[32]byte]bool
}

// Start runs a receiver that accepts messages from sender encrypted to
// receiver; it stops when the test ends.
func Start(t testing.TB, fault Fault, sender, receiver *testpeer.Identity) *Receiver {
	t.Helper()
	rc := &Receiver{fault: fault, sender: sender, receiver: receiver, signer: receiver, dir: t.TempDir(),
		ids: map[string]bool{}, payloads: map[[32]byte]bool{}}
	if fault == ForeignSigner {
		rc.signer = testpeer.NewIdentity(t, "loadgentest stranger")
	}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

// Counts returns how many messages the receiver decrypted and verified, and
// how many distinct Message-IDs and payloads they had.
func (rc *Receiver) Counts() (messages, ids, payloads int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.messages, len(rc.ids), len(rc.payloads)
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var h mime.Header
	for name, values := range r.Header {
		for _, v := range values {
			h.Add(name, v)
		}
	}
	msg, err := as2.Parse(h, r.Body, as2.ParseOptions{
		Decrypt:          []cms.Recipient{{Cert: rc.receiver.Cert, Key: rc.receiver.Key}},
		Verify:           []*x509.Certificate{rc.sender.Cert},
		RequireEncrypted: true,
		RequireSigned:    true,
		TempDir:          rc.dir,
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	defer msg.Close()
	sum, err := fileHash(msg.Parts[0].Path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	rc.mu.Lock()
	rc.messages++
	rc.ids[msg.MessageID] = true
	rc.payloads[sum] = true
	rc.mu.Unlock()

	mic := msg.MIC
	opts := as2.MDNOptions{From: msg.To, To: msg.From, OriginalMessageID: msg.MessageID, Disposition: as2.Processed(),
		MIC: &mic, Sign: &cms.Signer{Key: rc.signer.Key, Cert: rc.signer.Cert, Digest: crypto.SHA256}}
	switch rc.fault {
	case ServerError:
		http.Error(w, "the receiver failed", http.StatusInternalServerError)
		return
	case WrongMIC:
		mic.Digest = append([]byte{}, mic.Digest...)
		mic.Digest[0] ^= 1
	case Unsigned:
		opts.Sign = nil
	case ErrorDisposition:
		opts.Disposition, opts.MIC = as2.ProcessedError(as2.DecryptionFailed), nil
	case WarningDisposition:
		opts.Disposition = as2.ProcessedWarning("duplicate-document")
	case WrongOriginalID:
		opts.OriginalMessageID = "<another@receiver>"
	}
	mdn, err := as2.BuildMDN(opts)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for _, f := range mdn.Header.Fields {
		w.Header().Add(f.Name, f.Value)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(mdn.Body)))
	w.Write(mdn.Body)
}

func fileHash(path string) ([32]byte, error) {
	var sum [32]byte
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}
