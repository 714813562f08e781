package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/as2gate/as2gate"
)

const (
	// maxJSON bounds a JSON request body.
	maxJSON = 1 << 20
	// maxCertificateJSON bounds a certificate import, whose file of up to
	// pki.MaxInputSize is a third larger in base64.
	maxCertificateJSON = 3 << 19 // 1.5 MiB
)

// decodeJSON reads the request body into v: exactly one JSON value, no
// field v does not have, at most 1 MiB. Errors name the field at fault.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeJSONUpTo(w, r, v, maxJSON)
}

// decodeJSONUpTo is decodeJSON with a body of at most limit bytes.
func decodeJSONUpTo(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	body := http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&json.RawMessage{}); err != io.EOF {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return jsonError(err)
		}
		return as2gate.Invalid("body", "want exactly one JSON value")
	}
	return nil
}

// jsonError turns what encoding/json says into an error naming the field.
func jsonError(err error) error {
	if e, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &as2gate.Error{Code: as2gate.ETooLarge, Field: "body", Message: fmt.Sprintf("a JSON body is at most %d bytes", e.Limit)}
	}
	if e, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		field := e.Field
		if field == "" {
			field = "body"
		}
		return as2gate.Invalid(field, "want %s, got a JSON %s", jsonType(e.Type.String()), e.Value)
	}
	if e, ok := errors.AsType[*json.SyntaxError](err); ok {
		return as2gate.Invalid("body", "malformed JSON at byte %d: %s", e.Offset, strings.TrimPrefix(e.Error(), "json: "))
	}
	if _, ok := errors.AsType[base64.CorruptInputError](err); ok {
		return as2gate.Invalid("body", "a field of bytes is not valid base64")
	}
	switch {
	case errors.Is(err, io.EOF):
		return as2gate.Invalid("body", "empty: want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return as2gate.Invalid("body", "truncated JSON")
	}
	// DisallowUnknownFields has no error type of its own.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unq, err := strconv.Unquote(name); err == nil {
			name = unq
		}
		return as2gate.Invalid(name, "unknown field")
	}
	return as2gate.Invalid("body", "%s", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonType names a Go type as JSON does.
func jsonType(goType string) string {
	switch {
	case goType == "string", goType == "time.Time":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["):
		return "an object"
	}
	return "an object"
}

// checkParams refuses query parameters a route does not declare, so that
// a misspelt filter is an error rather than ignored, the repetition of a
// parameter that takes one value, and path and query values that are not
// text: no name, ID or filter is anything but UTF-8 without NUL, and
// PostgreSQL would refuse to compare them where SQLite finds nothing.
func checkParams(r *http.Request, rt route) error {
	for _, name := range pathParams(rt.path) {
		if !isText(r.PathValue(name)) {
			return as2gate.Invalid(name, "not UTF-8 text")
		}
	}
	for name, values := range r.URL.Query() {
		i := slices.IndexFunc(rt.params, func(p param) bool { return p.name == name && p.in == "query" })
		if i < 0 {
			return as2gate.Invalid(name, "unknown query parameter")
		}
		if len(values) > 1 && rt.params[i].typ != "array" {
			return as2gate.Invalid(name, "given more than once")
		}
		for _, v := range values {
			if !isText(v) {
				return as2gate.Invalid(name, "not UTF-8 text")
			}
		}
	}
	return nil
}

func isText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

func queryInt(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, as2gate.Invalid(name, "%q is not a whole number", v)
	}
	return n, nil
}

func queryTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, as2gate.Invalid(name, "%q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", v)
	}
	return t, nil
}

// listWindow reads the since, until and limit parameters of the lists.
func listWindow(r *http.Request) (since, until time.Time, limit int, err error) {
	if since, err = queryTime(r, "since"); err != nil {
		return
	}
	if until, err = queryTime(r, "until"); err != nil {
		return
	}
	limit, err = queryInt(r, "limit")
	return
}

func queryBool(r *http.Request, name string) (*bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, as2gate.Invalid(name, "%q: want true or false", v)
	}
	return &b, nil
}
