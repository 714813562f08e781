package apitest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/pki"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// raw sends a request to path (under /api/v1) as any HTTP client would;
// headers are name, value pairs. It returns the answer, its body read.
func (s *server) raw(t *testing.T, method, path, token string, body io.Reader, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, s.url+client.Prefix+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// wantError checks an answer in the API's error shape.
func wantError(t *testing.T, what string, resp *http.Response, body []byte, status int, code, field string) {
	t.Helper()
	var eb client.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil || resp.StatusCode != status || eb.Error.Code != code ||
		eb.Error.Field != field || eb.Error.Message == "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s: %d %s, want %d %s field %q", what, resp.StatusCode, body, status, code, field)
	}
}

// permissions are the roles that have each permission: the contract the
// router enforces.
var permissions = map[string][]string{
	"read":     {"admin", "manager", "operator", "viewer"},
	"messages": {"admin", "operator"},
	"config":   {"admin", "manager"},
	"admin":    {"admin"},
}

// apiRoute is a route as the server's own OpenAPI document describes it.
type apiRoute struct {
	method, path string
	perm         string // "" for any valid credential
	public       bool   // no credential needed
	hasBody      bool
}

var needs = regexp.MustCompile(`Needs the (\w+) permission\.`)

// pinnedPermission is the permission a route must need, written here
// rather than read from the server that is tested: users, API keys and
// the audit log are an administrator's; changes to configuration a
// manager's; changes to messages an operator's; every other read a
// viewer's. "" for the routes of logging in and out.
func pinnedPermission(r apiRoute) string {
	first, _, _ := strings.Cut(strings.TrimPrefix(r.path, "/"), "/")
	switch {
	case first == "users" || first == "api-keys" || first == "audit":
		return "admin"
	case first == "auth" || first == "me" || first == "openapi.json":
		return ""
	case r.method == "GET":
		return "read"
	case first == "stations" || first == "partners" || first == "certificates":
		return "config"
	default: // messages, inbox, outbox
		return "messages"
	}
}

// routesOf reads every route and its permission from the server's OpenAPI
// document, so that a route added later is tried too.
func routesOf(t *testing.T, s *server) []apiRoute {
	t.Helper()
	doc, err := client.New(s.url).OpenAPI(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Paths map[string]map[string]struct {
			Description string `json:"description"`
			Security    *[]any `json:"security"`
			RequestBody any    `json:"requestBody"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	var out []apiRoute
	for path, ops := range d.Paths {
		for method, op := range ops {
			r := apiRoute{method: strings.ToUpper(method), path: path, public: op.Security != nil && len(*op.Security) == 0, hasBody: op.RequestBody != nil}
			if m := needs.FindStringSubmatch(op.Description); m != nil {
				r.perm = m[1]
				if permissions[r.perm] == nil {
					t.Fatalf("%s %s needs the unknown permission %q", r.method, path, r.perm)
				}
			}
			if want := pinnedPermission(r); want != "" && r.perm != want {
				t.Errorf("%s %s needs %q, want %q", r.method, path, r.perm, want)
			}
			out = append(out, r)
		}
	}
	if len(out) < 50 {
		t.Fatalf("only %d routes in the OpenAPI document", len(out))
	}
	return out
}

// TestRoles tries every role on every route it must not reach: 403, and
// nothing changed (but the audit log, which records each refusal). It
// also checks that every route but the public ones wants a credential, and
// that each role reads what it may.
func TestRoles(t *testing.T) {
	t.Parallel()
	s := start(t, "roles")
	s.loop(t)
	admin := s.as["admin"]
	m, err := s.as["operator"].Send(ctx(t), client.SendRequest{Station: "LOOP", Partner: "LOOP",
		Files: []client.SendFile{{Name: "order.edi", Content: strings.NewReader("UNA:+.? '")}}})
	if err != nil {
		t.Fatal(err)
	}
	out := waitSent(t, admin, m.ID)
	inbox, err := admin.ListMessages(ctx(t), client.MessageFilter{Direction: "in"})
	if err != nil || len(inbox.Items) != 1 {
		t.Fatalf("inbox %+v %v", inbox, err)
	}
	in := inbox.Items[0]
	victim, err := admin.CreateUser(ctx(t), client.UserInput{Username: ptr("victim"), Password: ptr(password), Role: ptr("viewer")})
	if err != nil {
		t.Fatal(err)
	}
	key, err := admin.CreateAPIKey(ctx(t), client.APIKeyInput{Name: "victim", Role: "viewer"})
	if err != nil {
		t.Fatal(err)
	}
	spare, err := admin.GenerateCertificate(ctx(t), client.CertificateGenerate{CommonName: "spare"})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{"users": victim.ID, "api-keys": key.ID, "certificates": spare.ID, "inbox": in.ID, "outbox": out.ID}
	pathOf := func(r apiRoute) string {
		first := strings.Split(strings.Trim(r.path, "/"), "/")[0]
		return strings.NewReplacer("{id}", ids[first], "{ref}", "LOOP", "{index}", "0").Replace(r.path)
	}
	newPEM := string(pki.EncodeCertPEM(testpeer.NewIdentity(t, "intruder").Cert))
	bodies := map[string]any{
		"POST /auth/token":             client.TokenRequest{Username: "viewer-user", Password: password},
		"POST /auth/refresh":           client.RefreshRequest{RefreshToken: "as2r_nothing"},
		"POST /auth/logout":            nil,
		"POST /users":                  client.UserInput{Username: ptr("intruder"), Password: ptr(password), Role: ptr("admin")},
		"PATCH /users/{id}":            client.UserInput{Role: ptr("admin")},
		"POST /api-keys":               client.APIKeyInput{Name: "intruder", Role: "admin"},
		"POST /certificates":           client.CertificateImport{Name: "intruder", Data: []byte(newPEM)},
		"POST /certificates/generate":  client.CertificateGenerate{CommonName: "intruder"},
		"POST /stations":               client.StationInput{AS2ID: ptr("INTRUDER")},
		"PATCH /stations/{ref}":        client.StationInput{Name: ptr("intruder")},
		"POST /partners":               client.PartnerInput{AS2ID: ptr("INTRUDER"), URL: ptr("http://intruder/as2"), Encrypt: ptr("none")},
		"PATCH /partners/{ref}":        client.PartnerInput{Subject: ptr("intruder")},
		"POST /inbox/delete":           client.DeleteRequest{IDs: []string{in.ID}},
		"POST /outbox/delete":          client.DeleteRequest{IDs: []string{out.ID}},
		"POST /messages":               "multipart",
		"POST /stations/{ref}/promote": nil,
	}
	request := func(r apiRoute, token string) (*http.Response, []byte) {
		t.Helper()
		key := r.method + " " + r.path
		v, ok := bodies[key]
		if r.hasBody && !ok {
			t.Fatalf("no request body for %s: add one", key)
		}
		switch v {
		case nil:
			return s.raw(t, r.method, pathOf(r), token, nil)
		case "multipart":
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			mw.WriteField("station", "LOOP")
			mw.WriteField("partner", "LOOP")
			w, _ := mw.CreateFormFile("file", "intruder.txt")
			w.Write([]byte("intruder"))
			mw.Close()
			return s.raw(t, r.method, pathOf(r), token, &b, "Content-Type", mw.FormDataContentType())
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return s.raw(t, r.method, pathOf(r), token, bytes.NewReader(j), "Content-Type", "application/json")
	}

	routes := routesOf(t, s)
	before, forbiddenBefore := snapshot(t, s, in.ID)
	refusedChanges := 0
	for _, r := range routes {
		if r.public {
			continue
		}
		resp, body := request(r, "")
		wantError(t, r.method+" "+r.path+" without a token", resp, body, 401, "unauthorized", "")
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s: 401 without WWW-Authenticate", r.method, r.path)
		}
		if r.perm == "" {
			continue
		}
		for _, role := range roles {
			if slices.Contains(permissions[r.perm], role) {
				continue
			}
			resp, body := request(r, s.tokens[role])
			wantError(t, r.method+" "+r.path+" as "+role, resp, body, 403, "forbidden", "")
			if r.method != "GET" {
				refusedChanges++
			}
		}
	}
	after, forbiddenAfter := snapshot(t, s, in.ID)
	if after != before {
		t.Errorf("refused requests changed something:\nbefore %s\nafter  %s", before, after)
	}
	if forbiddenAfter-forbiddenBefore != refusedChanges || refusedChanges < 50 {
		t.Errorf("%d refused changes, %d recorded in the audit log", refusedChanges, forbiddenAfter-forbiddenBefore)
	}

	// Reads are allowed to the roles with the permission.
	for _, r := range routes {
		if r.method != "GET" || r.public || r.perm == "" {
			continue
		}
		for _, role := range permissions[r.perm] {
			if resp, body := request(r, s.tokens[role]); resp.StatusCode != 200 {
				t.Errorf("%s %s as %s: %d %s", r.method, r.path, role, resp.StatusCode, body)
			}
		}
	}
}

// snapshot is everything a change could touch, but the audit log, as
// JSON; and the number of refusals (result forbidden) in the audit log.
func snapshot(t *testing.T, s *server, inbound string) (string, int) {
	t.Helper()
	admin := s.as["admin"]
	var parts []any
	add := func(v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, v)
	}
	add(admin.ListUsers(ctx(t)))
	add(admin.ListAPIKeys(ctx(t)))
	add(admin.ListCertificates(ctx(t)))
	add(admin.ListStations(ctx(t)))
	add(admin.ListPartners(ctx(t)))
	add(admin.ListMessages(ctx(t), client.MessageFilter{Limit: 1000}))
	add(admin.GetMessageDetail(ctx(t), inbound))
	b, err := json.Marshal(parts)
	if err != nil {
		t.Fatal(err)
	}
	forbidden := 0
	f := client.AuditFilter{Limit: 1000}
	for {
		page, err := admin.ListAudit(ctx(t), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Items {
			if e.Result == "forbidden" {
				forbidden++
			}
		}
		if page.NextCursor == "" {
			return string(b), forbidden
		}
		f.Cursor = page.NextCursor
	}
}
