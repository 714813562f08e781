package apitest

import (
	"bytes"
	"fmt"
	"io/fs"
	"mime/multipart"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/as2gate/as2gate/client"
)

// TestTokens: access tokens expire, refresh tokens get new ones once
// (a refresh token used twice ends the login), and failed logins are
// rate-limited.
func TestTokens(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	s := start(t, "tokens", "--access-token-ttl", ttl.String(), "--refresh-token-ttl", "1h")
	anon := client.New(s.url)
	tok, err := anon.Token(ctx(t), "operator-user", password)
	if err != nil {
		t.Fatal(err)
	}
	issued := time.Now()
	if tok.ExpiresIn != 2 || tok.RefreshExpiresIn != 3600 || tok.TokenType != "Bearer" || tok.Role != "operator" ||
		!strings.HasPrefix(tok.AccessToken, "as2t_") || !strings.HasPrefix(tok.RefreshToken, "as2r_") {
		t.Fatalf("tokens %+v", tok)
	}
	c := client.New(s.url, client.WithToken(tok.AccessToken))
	if _, err := c.Me(ctx(t)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(issued.Add(ttl + 100*time.Millisecond)))
	_, err = c.Me(ctx(t))
	if e := apiError(t, err, 401, "unauthorized"); !strings.Contains(e.Message, "expired") {
		t.Fatalf("expired token: %+v", e)
	}

	fresh, err := anon.Refresh(ctx(t), tok.RefreshToken)
	if err != nil || fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refreshed %+v %v", fresh, err)
	}
	c = client.New(s.url, client.WithToken(fresh.AccessToken))
	if me, err := c.Me(ctx(t)); err != nil || me.Name != "operator-user" {
		t.Fatalf("me with the refreshed token: %+v %v", me, err)
	}
	// The first refresh token again: stolen, or a confused client. The
	// whole login ends.
	_, err = anon.Refresh(ctx(t), tok.RefreshToken)
	apiError(t, err, 401, "unauthorized")
	_, err = c.Me(ctx(t))
	apiError(t, err, 401, "unauthorized")
	_, err = anon.Refresh(ctx(t), fresh.RefreshToken)
	apiError(t, err, 401, "unauthorized")

	// Five failures, then a lockout that the right password does not lift.
	for range 5 {
		_, err := anon.Token(ctx(t), "operator-user", "wrong password")
		apiError(t, err, 401, "unauthorized")
	}
	_, err = anon.Token(ctx(t), "operator-user", password)
	apiError(t, err, 429, "rate_limited")
	resp, body := s.raw(t, "POST", "/auth/token", "", strings.NewReader(`{"username":"operator-user","password":"x"}`))
	wantError(t, "a login while locked out", resp, body, 429, "rate_limited", "")
	if resp.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
}

// TestBadRequests sends what a careless or hostile client would: each is
// refused in the API's error shape, naming the field at fault, and
// changes nothing.
func TestBadRequests(t *testing.T) {
	t.Parallel()
	s := start(t, "bad")
	s.loop(t)
	tok := s.tokens["admin"]
	big := `{"common_name": "` + strings.Repeat("x", 2<<20) + `"}`
	multi := func(fields ...string) (string, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for i := 0; i+1 < len(fields); i += 2 {
			if fields[i] == "file" {
				w, _ := mw.CreateFormFile("file", "a.txt")
				w.Write([]byte(fields[i+1]))
			} else {
				mw.WriteField(fields[i], fields[i+1])
			}
		}
		mw.Close()
		return b.String(), mw.FormDataContentType()
	}
	unknownField, unknownType := multi("station", "LOOP", "partner", "LOOP", "colour", "red", "file", "x")
	fileFirst, fileFirstType := multi("file", "x", "station", "LOOP", "partner", "LOOP")
	longField, longType := multi("station", strings.Repeat("S", 5000), "partner", "LOOP", "file", "x")
	truncated, truncatedType := multi("station", "LOOP", "partner", "LOOP", "file", "x")
	truncated = truncated[:len(truncated)-10]

	before, _ := snapshot(t, s, mustInbound(t, s))
	for _, tc := range []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		code, field              string
	}{
		{"malformed JSON", "POST", "/stations", `{"as2_id": `, nil, 400, "invalid", "body"},
		{"wrong type", "POST", "/stations", `{"as2_id": 42}`, nil, 400, "invalid", "as2_id"},
		{"wrong type, nested", "PATCH", "/partners/LOOP", `{"headers": [{"name": "X", "value": true}]}`, nil, 400, "invalid", "headers.value"},
		{"wrong type, number", "PATCH", "/partners/LOOP", `{"retries": "many"}`, nil, 400, "invalid", "retries"},
		{"unknown field", "POST", "/stations", `{"as2_id": "X", "colour": "red"}`, nil, 400, "invalid", "colour"},
		{"two JSON values", "POST", "/stations", `{"as2_id": "X"} {"as2_id": "Y"}`, nil, 400, "invalid", "body"},
		{"an array", "POST", "/stations", `[1, 2]`, nil, 400, "invalid", "body"},
		{"empty body", "POST", "/users", ``, nil, 400, "invalid", "body"},
		{"not base64", "POST", "/certificates", `{"data": "%%%"}`, nil, 400, "invalid", "body"},
		{"oversized body", "POST", "/certificates/generate", big, nil, 413, "too_large", "body"},
		{"bad limit", "GET", "/inbox?limit=abc", "", nil, 400, "invalid", "limit"},
		{"negative limit", "GET", "/stations?limit=-1", "", nil, 400, "invalid", "limit"},
		{"limit twice", "GET", "/outbox?limit=1&limit=2", "", nil, 400, "invalid", "limit"},
		{"bad time", "GET", "/outbox?since=yesterday", "", nil, 400, "invalid", "since"},
		{"bad boolean", "GET", "/inbox?read=maybe", "", nil, 400, "invalid", "read"},
		{"read on the outbox", "GET", "/outbox?read=true", "", nil, 400, "invalid", "read"},
		{"unknown status", "GET", "/outbox?status=lost", "", nil, 400, "invalid", "status"},
		{"unknown parameter", "GET", "/audit?colour=red", "", nil, 400, "invalid", "colour"},
		{"bad cursor", "GET", "/inbox?cursor=../../etc", "", nil, 400, "invalid", "cursor"},
		{"unknown route", "GET", "/nothing", "", nil, 404, "not_found", ""},
		{"wrong method", "DELETE", "/me", "", nil, 405, "invalid", ""},
		{"bulk delete of too many", "POST", "/outbox/delete", `{"ids": [` + strings.Repeat(`"x",`, 100) + `"x"]}`, nil, 400, "invalid", "ids"},
		{"raw send without station", "POST", "/messages", "hello", []string{"X-AS2-Partner", "LOOP"}, 400, "invalid", "X-AS2-Station"},
		{"send to nobody", "POST", "/messages", "hello", []string{"X-AS2-Station", "LOOP", "X-AS2-Partner", "NOPE"}, 400, "invalid", "partner"},
		{"multipart, unknown field", "POST", "/messages", unknownField, []string{"Content-Type", unknownType}, 400, "invalid", "colour"},
		{"multipart, file first", "POST", "/messages", fileFirst, []string{"Content-Type", fileFirstType}, 400, "invalid", "station"},
		{"multipart, long field", "POST", "/messages", longField, []string{"Content-Type", longType}, 400, "invalid", "station"},
		{"multipart, truncated", "POST", "/messages", truncated, []string{"Content-Type", truncatedType}, 400, "invalid", ""},
	} {
		resp, body := s.raw(t, tc.method, tc.path, tok, strings.NewReader(tc.body), tc.headers...)
		wantError(t, tc.name, resp, body, tc.status, tc.code, tc.field)
		if tc.status == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s: 405 without Allow", tc.name)
		}
	}
	if after, _ := snapshot(t, s, mustInbound(t, s)); after != before {
		t.Errorf("bad requests changed something:\nbefore %s\nafter  %s", before, after)
	}
}

// mustInbound returns the ID of a message the server received from
// itself (station and partner LOOP), sending one first if there is none.
func mustInbound(t *testing.T, s *server) string {
	t.Helper()
	list, err := s.as["viewer"].ListMessages(ctx(t), client.MessageFilter{Direction: "in", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) > 0 {
		return list.Items[0].ID
	}
	m, err := s.as["operator"].Send(ctx(t), client.SendRequest{Station: "LOOP", Partner: "LOOP",
		Files: []client.SendFile{{Name: "ping.txt", Content: strings.NewReader("ping")}}})
	if err != nil {
		t.Fatal(err)
	}
	waitSent(t, s.as["viewer"], m.ID)
	return mustInbound(t, s)
}

// TestPathTraversal sends files whose names climb out of their folder, as
// multipart parts and as raw bodies: they are stored under safe names,
// inside the data folder, and received so by the partner.
func TestPathTraversal(t *testing.T) {
	t.Parallel()
	s := start(t, "traversal")
	s.loop(t)
	names := []struct{ sent, stored string }{
		{"../../escaped-1.txt", "escaped-1.txt"},
		{`..\..\escaped-2.txt`, "escaped-2.txt"},
		{"/tmp/escaped-3.txt", "escaped-3.txt"},
		{"sub/dir/escaped-4.txt", "escaped-4.txt"},
		{`C:\Windows\escaped-5.txt`, "escaped-5.txt"},
		{"../../escaped-6.txt\r\nX-Evil: 1", "escaped-6.txtX-Evil_ 1"},
		{"façade.txt", "façade.txt"},
		{"..", ""}, // nothing left: a default name
	}
	req := client.SendRequest{Station: "LOOP", Partner: "LOOP"}
	for i, n := range names {
		req.Files = append(req.Files, client.SendFile{Name: n.sent, Content: strings.NewReader(fmt.Sprintf("file %d", i))})
	}
	m, err := s.as["operator"].Send(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	// Raw bodies name the file in a header.
	var raw []string
	for _, h := range [][]string{{"X-Filename", "../../../escaped-7.txt"}, {"Content-Disposition", `attachment; filename="..\\..\\escaped-8.txt"`}} {
		resp, body := s.raw(t, "POST", "/messages", s.tokens["operator"], strings.NewReader("raw"),
			append([]string{"X-AS2-Station", "LOOP", "X-AS2-Partner", "LOOP"}, h...)...)
		if resp.StatusCode != 202 {
			t.Fatalf("raw send with %s: %d %s", h[0], resp.StatusCode, body)
		}
		raw = append(raw, strings.TrimPrefix(resp.Header.Get("Location"), client.Prefix+"/outbox/"))
	}

	check := func(m *client.Message, want ...string) {
		t.Helper()
		if len(m.Files) != len(want) {
			t.Fatalf("%s message %s has %d files, want %d", m.Direction, m.ID, len(m.Files), len(want))
		}
		for i, f := range m.Files {
			if (want[i] != "" && f.Name != want[i]) || f.Name == "" || f.Name == "." || f.Name == ".." || strings.ContainsAny(f.Name, "/\\\x00\r\n") {
				t.Errorf("%s file %d named %q, want %q", m.Direction, i, f.Name, want[i])
			}
		}
	}
	var stored []string
	for _, n := range names {
		stored = append(stored, n.stored)
	}
	check(waitSent(t, s.as["viewer"], m.ID), stored...)
	check(waitSent(t, s.as["viewer"], raw[0]), "escaped-7.txt")
	check(waitSent(t, s.as["viewer"], raw[1]), "escaped-8.txt")
	received := pages(t, s.as["viewer"], client.MessageFilter{Direction: "in"})
	if len(received) != 3 {
		t.Fatalf("received %d messages", len(received))
	}
	sent := waitSent(t, s.as["viewer"], m.ID)
	i := slices.IndexFunc(received, func(r client.Message) bool { return r.MessageID == sent.MessageID })
	if i < 0 {
		t.Fatalf("the multipart message %s was not received", sent.MessageID)
	}
	check(&received[i], stored...)
	_, f, err := s.as["viewer"].OpenMessageFile(ctx(t), received[i].ID, 0)
	if err != nil || f.Name != "escaped-1.txt" {
		t.Fatalf("download: %+v %v", f, err)
	}

	// On disk: every copy inside the data folder, none outside.
	found := map[string]int{}
	filepath.WalkDir(s.Data, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), "escaped-") {
			found[d.Name()]++
		}
		return nil
	})
	for i := 1; i <= 8; i++ {
		if name := fmt.Sprintf("escaped-%d.txt", i); i != 6 && found[name] != 2 { // sent and received
			t.Errorf("%s is in the data folder %d times, want 2 (found %v)", name, found[name], found)
		}
	}
	for dir := filepath.Dir(s.Data); dir != filepath.Dir(dir) && strings.HasPrefix(dir, os.TempDir()); dir = filepath.Dir(dir) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "escaped-") {
				t.Errorf("%s escaped the data folder", filepath.Join(dir, e.Name()))
			}
		}
	}
}

// TestConcurrentSends sends 20 messages at once: each is accepted once,
// delivered, and received with its own content.
func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	s := start(t, "concurrent")
	s.loop(t)
	const n = 20
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			content := strings.Repeat(fmt.Sprintf("message %02d\n", i), 1000*(i+1))
			m, err := s.as["operator"].Send(ctx(t), client.SendRequest{Station: "LOOP", Partner: "LOOP", Subject: fmt.Sprintf("concurrent %02d", i),
				Files: []client.SendFile{{Name: fmt.Sprintf("m%02d.txt", i), Content: strings.NewReader(content)}}})
			if err == nil && (len(m.Files) != 1 || m.Files[0].SHA256 != sum([]byte(content))) {
				err = fmt.Errorf("message %d stored as %+v", i, m)
			}
			if err == nil {
				ids[i] = m.ID
			}
			errs[i] = err
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if seen[ids[i]] {
			t.Fatalf("message ID %s given twice", ids[i])
		}
		seen[ids[i]] = true
	}
	messageIDs := map[string]bool{}
	for _, id := range ids {
		messageIDs[waitSent(t, s.as["viewer"], id).MessageID] = true
	}
	received := pages(t, s.as["viewer"], client.MessageFilter{Direction: "in", Limit: 7})
	if len(received) != n || len(messageIDs) != n {
		t.Fatalf("%d received, %d Message-IDs, want %d", len(received), len(messageIDs), n)
	}
	for _, m := range received {
		var i int
		if _, err := fmt.Sscanf(m.Subject, "concurrent %d", &i); err != nil || !messageIDs[m.MessageID] {
			t.Fatalf("received %+v", m)
		}
		want := strings.Repeat(fmt.Sprintf("message %02d\n", i), 1000*(i+1))
		rc, _, err := s.as["viewer"].OpenMessageFile(ctx(t), m.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, rc); string(got) != want {
			t.Fatalf("message %d received with %d bytes, want %d", i, len(got), len(want))
		}
	}
}
