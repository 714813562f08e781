package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
)

// statuses maps every error code to its HTTP status: the one place where
// the API decides what a failure looks like.
var statuses = map[as2gate.Code]int{
	as2gate.EInvalid:      http.StatusBadRequest,
	as2gate.EUnauthorized: http.StatusUnauthorized,
	as2gate.EForbidden:    http.StatusForbidden,
	as2gate.ENotFound:     http.StatusNotFound,
	as2gate.EConflict:     http.StatusConflict,
	as2gate.ETooLarge:     http.StatusRequestEntityTooLarge,
	as2gate.ERateLimited:  http.StatusTooManyRequests,
	as2gate.EUnavailable:  http.StatusServiceUnavailable,
	as2gate.EInternal:     http.StatusInternalServerError,
}

// errorBody is what the client is told of err, and with which status.
// Internal errors are told as "internal error": their details are for the
// log only.
func errorBody(err error) (int, client.ErrorBody) {
	code := as2gate.ErrorCode(err)
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		code = as2gate.ETooLarge
		err = as2gate.Errorf(as2gate.ETooLarge, "the request body is over the limit")
	}
	status, ok := statuses[code]
	if !ok {
		code, status = as2gate.EInternal, http.StatusInternalServerError
	}
	body := client.ErrorBody{Error: client.Error{Code: string(code), Message: "internal error"}}
	if e, ok := errors.AsType[*as2gate.Error](err); ok && code != as2gate.EInternal {
		body.Error.Message, body.Error.Field = e.Message, e.Field
	}
	return status, body
}

// writeError answers with err; status, when not 0, overrides the code's.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error, status int) {
	st, body := errorBody(err)
	if status == 0 {
		status = st
	}
	switch {
	case status == http.StatusInternalServerError && errors.Is(r.Context().Err(), context.Canceled):
		a.log.Debug("api request canceled by the client", "method", r.Method, "path", r.URL.Path, "error", err)
	case status == http.StatusInternalServerError:
		a.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	case status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="as2gate"`)
	}
	writeJSON(w, status, body)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // Message-IDs are <...>: keep them legible
	enc.Encode(v)            // a failure here is the client gone: nothing to tell it
}
