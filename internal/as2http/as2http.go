// Package as2http is the partner-facing listener: POST /as2 receives
// messages (and asynchronous MDNs, which some partners send there),
// POST /as2/mdn receives asynchronous MDNs. Nothing of the admin side is
// reachable through it.
package as2http

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/gateway"
	"github.com/as2gate/as2gate/internal/mime"
)

// Receiver is what the listener needs of the gateway.
type Receiver interface {
	Receive(ctx context.Context, h mime.Header, body io.Reader) *gateway.Reply
	ReceiveMDN(ctx context.Context, h mime.Header, body io.Reader) *gateway.Reply
}

// New returns the handler of the AS2 listener.
func New(r Receiver) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /as2", func(w http.ResponseWriter, req *http.Request) {
		write(w, r.Receive(req.Context(), header(req), req.Body))
	})
	mux.HandleFunc("POST /as2/mdn", func(w http.ResponseWriter, req *http.Request) {
		write(w, r.ReceiveMDN(req.Context(), header(req), req.Body))
	})
	mux.HandleFunc("GET /as2", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "as2gate AS2 endpoint: POST AS2 messages here.\n")
	})
	return mux
}

// header turns the HTTP headers into the MIME header the AS2 engine reads.
func header(req *http.Request) mime.Header {
	var h mime.Header
	for name, values := range req.Header {
		if as2gate.IsCredentialHeader(name) { // never kept with the message
			continue
		}
		for _, v := range values {
			h.Add(name, v)
		}
	}
	return h
}

func write(w http.ResponseWriter, r *gateway.Reply) {
	for name, values := range r.Header {
		for _, v := range values {
			w.Header().Add(name, v)
		}
	}
	// Always a Content-Length: some partners resend forever without one.
	w.Header().Set("Content-Length", strconv.Itoa(len(r.Body)))
	w.WriteHeader(r.Status)
	w.Write(r.Body)
}
