package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fake serves handler under the API's prefix and returns a client of it.
func fake(t *testing.T, handler http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return New(srv.URL+"/", WithToken("as2t_test"), WithHTTPClient(srv.Client()))
}

// TestSendStreams proves that files are sent as they are read: the first
// file's reader gives its second half only once the server has received
// the first, which a client that buffered the body would never let happen.
func TestSendStreams(t *testing.T) {
	half := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	gotFirstHalf := make(chan struct{})
	type part struct{ form, name, contentType, content string }
	var parts []part
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" {
			w.Write([]byte(`{"id": "m1", "direction": "out", "status": "queued", "files": []}`))
			return
		}
		if r.URL.Path != "/api/v1/messages" || r.Header.Get("Authorization") != "Bearer as2t_test" || r.ContentLength != -1 {
			t.Errorf("%s %s, Authorization %q, length %d", r.Method, r.URL.Path, r.Header.Get("Authorization"), r.ContentLength)
		}
		mr, err := r.MultipartReader()
		if err != nil {
			t.Error(err)
			return
		}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Error(err)
				return
			}
			var content []byte
			if p.FormName() == "file" && len(parts) == 3 {
				content = make([]byte, len(half))
				if _, err := io.ReadFull(p, content); err != nil {
					t.Error(err)
					return
				}
				close(gotFirstHalf)
			}
			rest, _ := io.ReadAll(p)
			_, params, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
			parts = append(parts, part{p.FormName(), params["filename"], p.Header.Get("Content-Type"), string(append(content, rest...))})
		}
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"id": "m1", "message_id": "<m1@A>", "status": "queued"}`))
	})
	first := io.MultiReader(bytes.NewReader(half), &waitReader{wait: gotFirstHalf, r: bytes.NewReader(half)})
	m, err := c.Send(context.Background(), SendRequest{Station: "A", Partner: "B", Subject: "Order", Files: []SendFile{
		{Name: "big.bin", Content: first},
		{Name: "../evil\r\nX-Injected: 1.txt", ContentType: "application/edifact; charset=utf-8", Content: strings.NewReader("edi")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "m1" || m.Status != "queued" {
		t.Fatalf("message %+v", m)
	}
	want := []part{
		{"station", "", "", "A"}, {"partner", "", "", "B"}, {"subject", "", "", "Order"},
		{"file", "big.bin", "application/octet-stream", string(half) + string(half)},
		{"file", "../evil\r\nX-Injected: 1.txt", "application/edifact; charset=utf-8", "edi"},
	}
	if len(parts) != len(want) {
		t.Fatalf("%d parts, want %d", len(parts), len(want))
	}
	for i := range want {
		if parts[i] != want[i] {
			t.Errorf("part %d: %s %q %q (%d bytes), want %s %q %q (%d bytes)", i, parts[i].form, parts[i].name, parts[i].contentType,
				len(parts[i].content), want[i].form, want[i].name, want[i].contentType, len(want[i].content))
		}
	}
}

// waitReader reads r once wait is closed, or fails after a while.
type waitReader struct {
	wait <-chan struct{}
	r    io.Reader
}

func (w *waitReader) Read(p []byte) (int, error) {
	select {
	case <-w.wait:
		return w.r.Read(p)
	case <-time.After(10 * time.Second):
		return 0, errors.New("the server never got the first half: the body is not streamed")
	}
}

// TestSendFailures: a file that cannot be read is the error, and a server
// refusing the upload is; either way no file is read once Send returns.
func TestSendFailures(t *testing.T) {
	broken := errors.New("disk on fire")
	tests := []struct {
		name    string
		handler http.HandlerFunc
		content func(reads *atomic.Int64) io.Reader
		check   func(error) bool
	}{
		{"unreadable file", func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) },
			func(reads *atomic.Int64) io.Reader {
				return io.MultiReader(strings.NewReader("start"), &countingReader{reads: reads, err: broken})
			},
			func(err error) bool {
				_, ok := errors.AsType[*fileError](err)
				return ok && errors.Is(err, broken)
			}},
		{"refused before the body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error": {"code": "forbidden", "message": "role viewer may not do this"}}`))
		}, func(reads *atomic.Int64) io.Reader { return &countingReader{reads: reads} },
			func(err error) bool {
				e, ok := errors.AsType[*APIError](err)
				return ok && e.Status == 403 && e.Code == "forbidden" && err.Error() == "role viewer may not do this"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reads atomic.Int64
			c := fake(t, tt.handler)
			_, err := c.Send(context.Background(), SendRequest{Station: "A", Partner: "B", Files: []SendFile{{Name: "f", Content: tt.content(&reads)}}})
			if !tt.check(err) {
				t.Fatalf("error %v (%T)", err, err)
			}
			n := reads.Load()
			time.Sleep(50 * time.Millisecond)
			if reads.Load() != n {
				t.Fatal("the file was read after Send returned")
			}
		})
	}
	c := fake(t, func(w http.ResponseWriter, r *http.Request) { t.Errorf("a request was sent: %s %s", r.Method, r.URL) })
	for _, f := range []SendFile{{Name: "no content"}, {Name: "bad type", ContentType: "text/plain\r\nX-Injected: 1", Content: strings.NewReader("x")}} {
		if _, err := c.Send(context.Background(), SendRequest{Station: "A", Partner: "B", Files: []SendFile{f}}); err == nil {
			t.Errorf("%s: sent", f.Name)
		}
	}
}

// TestSendAccepted: once the server has accepted a message, Send does not
// fail for want of the outbox's answer, which would have it sent twice.
func TestSendAccepted(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"id": "m1", "message_id": "<m1@A>", "status": "queued"}`))
	})
	m, err := c.Send(context.Background(), SendRequest{Station: "A", Partner: "B", Files: []SendFile{{Name: "f", Content: strings.NewReader("x")}}})
	if err != nil || m.ID != "m1" || m.MessageID != "<m1@A>" || m.Status != "queued" || m.Direction != "out" || m.StationAS2ID != "A" {
		t.Fatalf("%+v %v", m, err)
	}
}

// countingReader counts its reads and gives zeros, or err.
type countingReader struct {
	reads *atomic.Int64
	err   error
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads.Add(1)
	if c.err != nil {
		return 0, c.err
	}
	clear(p)
	return len(p), nil
}

// TestErrors: answers in the API's error shape and others (a proxy's)
// become *APIError.
func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   APIError
		text   string
	}{
		{"validation", 400, `{"error": {"code": "invalid", "message": "required", "field": "as2_id"}}`,
			APIError{Status: 400, Code: "invalid", Message: "required", Field: "as2_id"}, "as2_id: required"},
		{"not found", 404, `{"error": {"code": "not_found", "message": "partner X not found"}}`,
			APIError{Status: 404, Code: "not_found", Message: "partner X not found"}, "partner X not found"},
		{"a proxy's page", 502, "<html>\r\n<b>Bad gateway</b>\x1b[31m</html>",
			APIError{Status: 502, Message: "<html>  <b>Bad gateway</b> [31m</html>"}, "HTTP 502 Bad Gateway: <html>  <b>Bad gateway</b> [31m</html>"},
		{"a long page", 500, strings.Repeat("x", 1000),
			APIError{Status: 500, Message: strings.Repeat("x", maxShownErr) + "..."}, "HTTP 500 Internal Server Error: " + strings.Repeat("x", maxShownErr) + "..."},
		{"nothing", 503, "", APIError{Status: 503, Message: "no explanation given"}, "HTTP 503 Service Unavailable: no explanation given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			})
			_, err := c.GetPartner(context.Background(), "X")
			e, ok := errors.AsType[*APIError](fmt.Errorf("wrapped: %w", err))
			if !ok || *e != tt.want || err.Error() != tt.text {
				t.Fatalf("error %#v %q, want %#v %q", err, err, tt.want, tt.text)
			}
		})
	}
}

// TestBounds: answers larger than a client takes are refused, not held.
func TestBounds(t *testing.T) {
	for _, tt := range []struct {
		data  string
		limit int64
		ok    bool
	}{{"12345", 5, true}, {"123456", 5, false}, {"", 0, true}, {"1", 0, false}} {
		got, err := io.ReadAll(&boundedReader{r: strings.NewReader(tt.data), left: tt.limit})
		if tt.ok != (err == nil) || (tt.ok && string(got) != tt.data) {
			t.Errorf("%q within %d: %q %v", tt.data, tt.limit, got, err)
		}
	}
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		for range maxRaw/(64<<10) + 1 {
			w.Write(make([]byte, 64<<10))
		}
	})
	if _, err := c.CertificatePEM(context.Background(), "x"); !errors.Is(err, errTooLarge) {
		t.Fatalf("a PEM over %d bytes: %v", maxRaw, err)
	}

	// A list read whole is bounded as a whole: pages each within maxJSON,
	// as many as it takes, stop at maxList.
	var pages atomic.Int64
	name := strings.Repeat("x", maxJSON/2)
	c = fake(t, func(w http.ResponseWriter, r *http.Request) {
		n := pages.Add(1)
		if n > maxList/(maxJSON/2)+2 { // enough to tell: the end
			io.WriteString(w, `{"items":[]}`)
			return
		}
		fmt.Fprintf(w, `{"items":[{"name":%q}],"next_cursor":"c%d"}`, name, n)
	})
	if _, err := c.ListStations(context.Background()); !errors.Is(err, errTooLarge) || pages.Load() > maxList/(maxJSON/2)+1 {
		t.Fatalf("pages of %d bytes without end: %v after %d pages", len(name), err, pages.Load())
	}
}

// TestPathsAndQueries: the base URL may name the prefix or not; path
// segments are escaped; lists are read page by page to the end.
func TestPathsAndQueries(t *testing.T) {
	var got []string
	handler := func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		switch cursor := r.URL.Query().Get("cursor"); {
		case strings.HasSuffix(r.URL.Path, "/stations") && cursor == "":
			w.Write([]byte(`{"items": [{"as2_id": "A"}], "next_cursor": "c1"}`))
		case strings.HasSuffix(r.URL.Path, "/stations"):
			w.Write([]byte(`{"items": [{"as2_id": "B"}]}`))
		case strings.HasSuffix(r.URL.Path, "/partners"):
			w.Write([]byte(`{"items": [], "next_cursor": "same"}`))
		default:
			w.Write([]byte(`{}`))
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(handler))
	defer srv.Close()
	ctx := context.Background()
	for _, base := range []string{srv.URL, srv.URL + "/api/v1/"} {
		got = nil
		c := New(base)
		stations, err := c.ListStations(ctx)
		if err != nil || len(stations) != 2 || stations[1].AS2ID != "B" {
			t.Fatalf("stations %+v %v", stations, err)
		}
		if _, err := c.ListPartners(ctx); err == nil || !strings.Contains(err.Error(), "same page twice") {
			t.Fatalf("a list that never ends: %v", err)
		}
		c.GetStation(ctx, "OUR ID/1")
		c.StationCertificatePEM(ctx, "X", true)
		c.ListAudit(ctx, AuditFilter{Actor: "ann", Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Limit: 10})
		c.MarkRead(ctx, "m 1", true)
		c.MarkRead(ctx, "m1", false)
		want := []string{
			"GET /api/v1/stations?limit=1000", "GET /api/v1/stations?cursor=c1&limit=1000",
			"GET /api/v1/partners?limit=1000", "GET /api/v1/partners?cursor=same&limit=1000",
			"GET /api/v1/stations/OUR%20ID%2F1?", "GET /api/v1/stations/X/certificate?next=true",
			"GET /api/v1/audit?actor=ann&limit=10&since=2026-01-02T03%3A04%3A05Z",
			"POST /api/v1/inbox/m%201/read?", "POST /api/v1/inbox/m1/unread?",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("base %s: requests\n%s\nwant\n%s", base, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	empty, err := New(srv.URL).ListCertificates(ctx) // {} has no items: an empty list, not null
	if b, _ := json.Marshal(empty); err != nil || string(b) != "[]" {
		t.Fatalf("empty list %s %v", b, err)
	}
}

// TestMessageFiles: a message's box is found first; a range is asked for,
// and cut from the whole file by a server that ignores it.
func TestMessageFiles(t *testing.T) {
	content := []byte("0123456789")
	for _, honour := range []bool{true, false} {
		c := fake(t, func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/api/v1/outbox/m1/files":
				w.WriteHeader(404)
				w.Write([]byte(`{"error": {"code": "not_found", "message": "message m1 not found"}}`))
			case "/api/v1/inbox/m1/files":
				w.Write([]byte(`{"items": []}`))
			case "/api/v1/inbox/m1/files/0":
				w.Header().Set("Content-Disposition", `attachment; filename*=UTF-8''fa%C3%A7ade.txt`)
				w.Header().Set("ETag", `"abc"`)
				w.Header().Set("Content-Type", "text/plain")
				rg := r.Header.Get("Range")
				if !honour || rg == "" {
					w.Write(content)
					return
				}
				var from, to int
				fmt.Sscanf(rg, "bytes=%d-%d", &from, &to)
				w.Header().Set("Content-Range", "bytes "+strconv.Itoa(from)+"-"+strconv.Itoa(to)+"/10")
				w.WriteHeader(http.StatusPartialContent)
				w.Write(content[from : to+1])
			default:
				t.Errorf("%s %s", r.Method, r.URL)
			}
		})
		rc, f, err := c.OpenMessageFileRange(context.Background(), "m1", 0, 2, 5)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != "23456" || f.Name != "façade.txt" || f.SHA256 != "abc" || f.ContentType != "text/plain" || f.Size != 10 {
			t.Errorf("honouring ranges %v: %q %+v", honour, got, f)
		}
	}
}

// TestListMessagesFilters: a filter becomes the query of one request,
// which the server answers for both boxes.
func TestListMessagesFilters(t *testing.T) {
	var got *url.URL
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.URL
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"items":[]}`)
	})
	f := MessageFilter{Direction: "in", Read: new(false), Status: []string{"received", "rejected"}, Subject: "order", Limit: 7}
	if _, err := c.ListMessages(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	q := got.Query()
	if !strings.HasSuffix(got.Path, "/messages") || q.Get("direction") != "in" || q.Get("read") != "false" ||
		!slices.Equal(q["status"], f.Status) || q.Get("subject") != "order" || q.Get("limit") != "7" {
		t.Errorf("request %s", got)
	}
	if _, err := c.DeleteMessages(context.Background(), "", []string{"x"}); err == nil {
		t.Error("a bulk delete without a direction")
	}
}
