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
		write(w, r.Receive(req.Context(), gateway.HeaderFromHTTP(req.Header), req.Body))
	})
	mux.HandleFunc("POST /as2/mdn", func(w http.ResponseWriter, req *http.Request) {
		write(w, r.ReceiveMDN(req.Context(), gateway.HeaderFromHTTP(req.Header), req.Body))
	})
	mux.HandleFunc("GET /as2", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "as2gate AS2 endpoint: POST AS2 messages here.\n")
	})
	return mux
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
