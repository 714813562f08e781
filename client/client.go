package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// Prefix is the path under which a server answers the API.
const Prefix = "/api/v1"

// Bounds on what is read of the server's answers: a client must not be
// made to hold whatever a server (or something posing as one) sends.
const (
	maxJSON     = 64 << 20  // a JSON answer: a page of 1000 messages with their files
	maxRaw      = 4 << 20   // a PEM certificate, a stored MDN, the OpenAPI document
	maxErrBody  = 64 << 10  // an error answer
	maxList     = 256 << 20 // all the pages of a list read whole, together
	maxPages    = 1000      // pages of a list read whole (1000 items each)
	pageSize    = 1000      // items asked for per page of a list read whole
	maxShownErr = 300       // characters of a non-API error answer shown in the error
)

// Client calls the REST API of an as2gate server. Its methods mirror those
// of the server's own service, so that the as2gate CLI works on a remote
// server as it does on a local installation. A Client is safe for
// concurrent use.
type Client struct {
	base  string // the server's URL with Prefix
	token string
	hc    *http.Client
}

// Option tunes a Client.
type Option func(*Client)

// WithToken authenticates the requests with a bearer token: an access token
// (from Token or Refresh) or an API key's secret.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient sends the requests with hc (timeouts, TLS settings, a
// proxy) instead of http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// New returns a client of the server at baseURL: the URL of its admin
// listener, such as http://localhost:8080, with or without Prefix.
func New(baseURL string, opts ...Option) *Client {
	base := strings.TrimRight(baseURL, "/")
	if !strings.HasSuffix(base, Prefix) {
		base += Prefix
	}
	c := &Client{base: base, hc: http.DefaultClient}
	for _, o := range opts {
		o(c)
	}
	return c
}

// APIError is an error answered by the server. Code is the API's
// machine-readable code (invalid, unauthorized, forbidden, not_found,
// conflict, too_large, rate_limited, unavailable, internal), or "" when the
// answer was not the API's (a proxy's, say); Field names the input at fault.
type APIError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

// Error reads as the server's own errors do: the field, then the message.
func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
	}
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// readError turns an answer that is not a success into an *APIError.
func readError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrBody))
	var eb ErrorBody
	if err := json.Unmarshal(body, &eb); err == nil && eb.Error.Code != "" {
		return &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message, Field: eb.Error.Field}
	}
	msg := strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, string(body)))
	if len(msg) > maxShownErr {
		msg = msg[:maxShownErr] + "..."
	}
	if msg == "" {
		msg = "no explanation given"
	}
	return &APIError{Status: resp.StatusCode, Message: msg}
}

// do sends a request and returns the answer if it is a success (2xx);
// otherwise the *APIError it holds. The caller closes the body.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body io.Reader, header http.Header) (*http.Response, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("as2gate client: %w", err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	req.Header.Set("User-Agent", "as2gate-client")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

// call sends in (unless nil) as JSON and decodes the JSON answer into out
// (unless nil).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	left := int64(maxJSON)
	return c.callWithin(ctx, method, path, query, in, out, &left)
}

// callWithin is call reading at most *left bytes of the answer, and taking
// what it read off *left: several answers can share one bound.
func (c *Client) callWithin(ctx context.Context, method, path string, query url.Values, in, out any, left *int64) error {
	var body io.Reader
	header := http.Header{"Accept": {"application/json"}}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("as2gate client: %w", err)
		}
		body = bytes.NewReader(b)
		header.Set("Content-Type", "application/json")
	}
	resp, err := c.do(ctx, method, path, query, body, header)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	answer := &boundedReader{r: resp.Body, left: min(*left, maxJSON)}
	err = json.NewDecoder(answer).Decode(out)
	*left -= min(*left, maxJSON) - answer.left
	if err != nil {
		return fmt.Errorf("as2gate client: reading the answer to %s %s: %w", method, path, err)
	}
	return nil
}

// raw returns the body of a GET answer that is not JSON, up to maxRaw bytes.
func (c *Client) raw(ctx context.Context, path string, query url.Values) ([]byte, error) {
	resp, err := c.do(ctx, "GET", path, query, nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(&boundedReader{r: resp.Body, left: maxRaw})
	if err != nil {
		return nil, fmt.Errorf("as2gate client: reading the answer to GET %s: %w", path, err)
	}
	return b, nil
}

// errTooLarge reports an answer over the bound of its kind.
var errTooLarge = errors.New("the answer is larger than a client accepts")

// boundedReader fails once more than left bytes are read.
type boundedReader struct {
	r    io.Reader
	left int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the bound from a larger one.
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// listAll reads every page of a list, at most maxList bytes in all.
func listAll[T any](ctx context.Context, c *Client, path string) ([]T, error) {
	all := []T{} // an empty list is [] in JSON, as the server's own service gives it
	query := url.Values{"limit": {strconv.Itoa(pageSize)}}
	left := int64(maxList)
	for range maxPages {
		var page List[T]
		if err := c.callWithin(ctx, "GET", path, query, nil, &page, &left); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all, nil
		}
		if page.NextCursor == query.Get("cursor") {
			return nil, fmt.Errorf("as2gate client: GET %s: the server gave the same page twice", path)
		}
		query.Set("cursor", page.NextCursor)
	}
	return nil, fmt.Errorf("as2gate client: GET %s: more than %d pages", path, maxPages)
}

// seg escapes a path segment: an AS2 ID may hold a slash or a space.
func seg(s string) string { return url.PathEscape(s) }
