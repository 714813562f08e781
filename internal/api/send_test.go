package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/heapwatch"
)

// filePart is one part of a multipart send.
type filePart struct {
	field, name, contentType, content string
}

// multipartBody builds a send: the text fields, then the parts.
func multipartBody(t *testing.T, fields map[string]string, parts ...filePart) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, k := range []string{"station", "partner", "subject", "content_type"} {
		if v, ok := fields[k]; ok {
			mw.WriteField(k, v)
		}
	}
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.field, p.name))
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, p.content)
	}
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

func (e *env) message(id string) client.Message {
	e.t.Helper()
	m, err := e.svc.GetMessage(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return *m
}

func TestSendMultipart(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.world()
	op := e.tokens["operator"]
	ct, body := multipartBody(t, map[string]string{"station": "ST", "partner": "PA", "subject": "Orders"},
		filePart{"file", "a.x12", "application/edi-x12", "ISA*00~"},
		filePart{"file", "b.bin", "application/octet-stream", "UNB+UNOA:2'"}, // generic: detected
		// Names that try to leave the message's folder.
		filePart{"file", "../../x", "", "traversal 1"},
		filePart{"file", `..\..\y`, "", "traversal 2"},
		filePart{"file", "/etc/passwd", "", "traversal 3"},
		filePart{"file", "..", "", "traversal 4"},
	)
	var acc client.SendAccepted
	e.call("POST", "/messages", op, body, "Content-Type", ct).want(202).decode(&acc)
	m := e.message(acc.ID)
	if m.Subject != "Orders" || len(m.Files) != 6 {
		t.Fatalf("message %+v", m)
	}
	wantNames := []string{"a.x12", "b.bin", "x", "y", "passwd", "attachment-6"}
	for i, f := range m.Files {
		if f.Name != wantNames[i] {
			t.Errorf("file %d stored as %q, want %q", i, f.Name, wantNames[i])
		}
	}
	if m.Files[0].ContentType != "application/edi-x12" || m.Files[1].ContentType != "application/edifact" {
		t.Errorf("content types %q %q", m.Files[0].ContentType, m.Files[1].ContentType)
	}
	stored, err := e.store.GetMessage(context.Background(), acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range stored.Files {
		if !strings.HasPrefix(f.Key, stored.Folder+"/") || strings.Count(f.Key[len(stored.Folder)+1:], "/") != 0 || strings.Contains(f.Key, "..") {
			t.Errorf("file %d stored at %q, outside %q", i, f.Key, stored.Folder)
		}
	}
	r := e.call("GET", "/outbox/"+acc.ID+"/files/2", op, nil).want(200)
	if string(r.body) != "traversal 1" || r.header.Get("Content-Disposition") != `attachment; filename="x"` {
		t.Fatalf("download %q %q", r.header.Get("Content-Disposition"), r.body)
	}

	// The form's content_type applies to every file.
	ct, body = multipartBody(t, map[string]string{"station": "ST", "partner": "PA", "content_type": "application/xml"},
		filePart{"file", "a", "text/plain", "<a/>"})
	e.call("POST", "/messages", op, body, "Content-Type", ct).want(202).decode(&acc)
	if got := e.message(acc.ID).Files[0].ContentType; got != "application/xml" {
		t.Fatalf("content type %q", got)
	}

	for _, c := range []struct {
		name   string
		fields map[string]string
		parts  []filePart
		field  string
		status int
	}{
		{"no station", map[string]string{"partner": "PA"}, []filePart{{"file", "a", "", "x"}}, "station", 400},
		{"no files", map[string]string{"station": "ST", "partner": "PA"}, nil, "files", 400},
		{"unknown field", map[string]string{"station": "ST", "partner": "PA"}, []filePart{{"colour", "", "", "red"}}, "colour", 400},
		{"field after files", map[string]string{"station": "ST", "partner": "PA"}, []filePart{{"file", "a", "", "x"}, {"subject", "", "", "late"}}, "subject", 400},
		{"bad content type", map[string]string{"station": "ST", "partner": "PA", "content_type": "not a type"}, []filePart{{"file", "a", "", "x"}}, "content_type", 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			before := e.snapshot()
			ct, body := multipartBody(t, c.fields, c.parts...)
			e.call("POST", "/messages", op, body, "Content-Type", ct).wantError(c.status, "invalid", c.field)
			if e.snapshot() != before {
				t.Fatal("a refused send changed something")
			}
		})
	}
	e.t = t
	// A body that breaks off: the client's fault, and nothing is kept.
	before := e.snapshot()
	ct, body = multipartBody(t, map[string]string{"station": "ST", "partner": "PA"}, filePart{"file", "a", "", strings.Repeat("x", 100000)})
	e.call("POST", "/messages", op, body[:len(body)/2], "Content-Type", ct).wantError(400, "invalid", "")
	if e.snapshot() != before {
		t.Fatal("a broken upload left a message")
	}
}

func TestSendRaw(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.world()
	op := e.tokens["operator"]
	var acc client.SendAccepted
	e.call("POST", "/messages", op, "<order/>", "X-AS2-Station", "ST", "X-AS2-Partner", "PA", "Subject", "PO 7",
		"Content-Type", "application/xml", "Content-Disposition", `attachment; filename="../po 7.xml"`).want(202).decode(&acc)
	m := e.message(acc.ID)
	if m.Subject != "PO 7" || len(m.Files) != 1 || m.Files[0].Name != "po 7.xml" || m.Files[0].ContentType != "application/xml" || m.Files[0].Size != 8 {
		t.Fatalf("message %+v", m)
	}
	e.call("POST", "/messages", op, "x", "X-AS2-Partner", "PA").wantError(400, "invalid", "X-AS2-Station")
	e.call("POST", "/messages", op, "x", "X-AS2-Station", "ST").wantError(400, "invalid", "X-AS2-Partner")
	e.call("POST", "/messages", op, "x", "X-AS2-Station", "ST", "X-AS2-Partner", "NOPE").wantError(400, "invalid", "partner")
}

func TestRangeDownload(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, in := e.world() // its file holds 0123456789
	tok := e.tokens["viewer"]
	path := "/inbox/" + in + "/files/0"
	r := e.call("GET", path, tok, nil).want(200)
	if string(r.body) != "0123456789" || r.header.Get("Content-Type") != "application/edifact" ||
		r.header.Get("Content-Disposition") != `attachment; filename="invoice.edi"` || r.header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("download %q %v", r.body, r.header)
	}
	r = e.call("GET", path, tok, nil, "Range", "bytes=2-5").want(206)
	if string(r.body) != "2345" || r.header.Get("Content-Range") != "bytes 2-5/10" {
		t.Fatalf("range %q %q", r.body, r.header.Get("Content-Range"))
	}
	r = e.call("GET", path, tok, nil, "Range", "bytes=-3").want(206)
	if string(r.body) != "789" {
		t.Fatalf("suffix range %q", r.body)
	}
	e.call("GET", path, tok, nil, "Range", "bytes=50-").want(416)
	// A resumed download whose file changed gets it whole.
	r = e.call("GET", path, tok, nil, "Range", "bytes=2-5", "If-Range", `"other"`).want(200)
	if len(r.body) != 10 {
		t.Fatalf("If-Range mismatch gave %q", r.body)
	}
	e.call("GET", "/inbox/"+in+"/files/1", tok, nil).wantError(404, "not_found", "")
	e.call("GET", "/inbox/"+in+"/files/x", tok, nil).wantError(404, "not_found", "")
}

func TestConcurrentSends(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.world()
	op := e.tokens["operator"]
	const n = 20
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", e.srv.URL+Prefix+"/messages", strings.NewReader(fmt.Sprintf("file %d", i)))
			req.Header.Set("Authorization", "Bearer "+op)
			req.Header.Set("X-AS2-Station", "ST")
			req.Header.Set("X-AS2-Partner", "PA")
			req.Header.Set("X-Filename", fmt.Sprintf("f%d.txt", i))
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var acc client.SendAccepted
			if res.StatusCode != 202 {
				b, _ := io.ReadAll(res.Body)
				t.Errorf("send %d: %d %s", i, res.StatusCode, b)
				return
			}
			if err := jsonDecode(res.Body, &acc); err != nil {
				t.Error(err)
			}
			ids[i] = acc.ID
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, id := range ids {
		if id == "" || seen[id] {
			t.Fatalf("send %d: id %q (duplicate or missing)", i, id)
		}
		seen[id] = true
		m := e.message(id)
		if len(m.Files) != 1 || m.Files[0].Name != fmt.Sprintf("f%d.txt", i) || m.Files[0].Size != int64(len(fmt.Sprintf("file %d", i))) {
			t.Fatalf("send %d stored %+v", i, m.Files)
		}
	}
}

// TestSendLargeStream sends 100 MiB through multipart without the server
// (nor the client, in the same process) holding it in memory.
func TestSendLargeStream(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 100 MiB")
	}
	e := newEnv(t, envOptions{})
	e.world()
	const size = 100 << 20
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	sum := sha256.New()
	go func() {
		mw.WriteField("station", "ST")
		mw.WriteField("partner", "PA")
		w, err := mw.CreateFormFile("file", "big.bin")
		if err == nil {
			_, err = io.Copy(io.MultiWriter(w, sum), io.LimitReader(pattern{}, size))
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest("POST", e.srv.URL+Prefix+"/messages", pr)
	req.Header.Set("Authorization", "Bearer "+e.tokens["operator"])
	req.Header.Set("Content-Type", mw.FormDataContentType())
	runtime.GC() // the garbage of the logins' password hashes (48 MiB each) is not the upload's
	watch := heapwatch.Start()
	res, err := e.srv.Client().Do(req)
	peak := watch.Stop()
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var acc client.SendAccepted
	if res.StatusCode != 202 || jsonDecode(res.Body, &acc) != nil {
		t.Fatalf("status %d", res.StatusCode)
	}
	m := e.message(acc.ID)
	if m.Files[0].Size != size || m.Files[0].SHA256 != hex.EncodeToString(sum.Sum(nil)) {
		t.Fatalf("stored %+v", m.Files[0])
	}
	t.Logf("peak heap %.1f MiB while sending %d MiB", float64(peak)/(1<<20), size>>20)
	if peak > 32<<20 {
		t.Fatalf("peak heap %.1f MiB: the upload is held in memory", float64(peak)/(1<<20))
	}
}

// pattern is an endless reader of varying bytes.
type pattern struct{}

func (pattern) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i*7 + i>>8)
	}
	return len(p), nil
}
