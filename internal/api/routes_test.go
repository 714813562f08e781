package api

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/pki"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// TestEveryRoute calls every route once, as an administrator (who may do
// everything), and checks what it answers.
func TestEveryRoute(t *testing.T) {
	e := newEnv(t, envOptions{})
	out, in := e.world()
	tok := e.tokens["admin"]
	get := func(path string, v any) {
		t.Helper()
		r := e.call("GET", path, tok, nil).want(200)
		if v != nil {
			r.decode(v)
		}
	}

	var doc map[string]any
	e.call("GET", "/openapi.json", "", nil).want(200).decode(&doc)
	var me client.Principal
	get("/me", &me)
	if me.Kind != "user" || me.Name != "admin-user" || me.Role != "admin" {
		t.Fatalf("me %+v", me)
	}
	refreshed := e.login("viewer-user", testPassword)
	var tokens client.Tokens
	e.call("POST", "/auth/refresh", "", client.RefreshRequest{RefreshToken: refreshed.RefreshToken}).want(200).decode(&tokens)
	e.call("POST", "/auth/logout", tokens.AccessToken, nil).want(204)
	e.call("GET", "/me", tokens.AccessToken, nil).wantError(401, "unauthorized", "")

	// Users and API keys.
	var users client.List[client.User]
	get("/users", &users)
	if len(users.Items) != 4 {
		t.Fatalf("users %+v", users)
	}
	var u client.User
	e.call("POST", "/users", tok, client.UserInput{Username: ptr("carl"), Password: ptr(testPassword), Role: ptr("viewer")}).want(201).decode(&u)
	get("/users/"+u.ID, &u)
	e.call("PATCH", "/users/"+u.ID, tok, client.UserInput{Role: ptr("operator")}).want(200).decode(&u)
	if u.Role != "operator" {
		t.Fatalf("patched user %+v", u)
	}
	e.call("DELETE", "/users/"+u.ID, tok, nil).want(204)
	e.call("GET", "/users/"+u.ID, tok, nil).wantError(404, "not_found", "")
	var key client.APIKey
	e.call("POST", "/api-keys", tok, client.APIKeyInput{Name: "erp", Role: "operator"}).want(201).decode(&key)
	var keys client.List[client.APIKey]
	get("/api-keys", &keys)
	if len(keys.Items) != 1 || keys.Items[0].Secret != "" || key.Secret == "" {
		t.Fatalf("keys %+v, created %+v", keys, key)
	}
	e.call("DELETE", "/api-keys/"+key.ID, tok, nil).want(204)
	var audit client.List[client.AuditEntry]
	get("/audit?action=apikey.revoke", &audit)
	if len(audit.Items) != 1 || audit.Items[0].Actor != "admin-user" {
		t.Fatalf("audit %+v", audit)
	}

	// Certificates, stations, partners.
	var cert, gen client.Certificate
	pem := pki.EncodeCertPEM(testpeer.NewIdentity(t, "imported").Cert)
	e.call("POST", "/certificates", tok, client.CertificateImport{Name: "imported", Data: pem}).want(201).decode(&cert)
	e.call("POST", "/certificates/generate", tok, client.CertificateGenerate{Name: "next", CommonName: "ST next"}).want(201).decode(&gen)
	var certs client.List[client.Certificate]
	get("/certificates", &certs)
	get("/certificates/"+cert.ID, nil)
	if r := e.call("GET", "/certificates/"+cert.ID+"/pem", tok, nil).want(200); r.header.Get("Content-Type") != "application/x-pem-file" ||
		!strings.Contains(string(r.body), "BEGIN CERTIFICATE") {
		t.Fatalf("pem %q %q", r.header, r.body)
	}
	e.call("DELETE", "/certificates/"+cert.ID, tok, nil).want(204)

	var st client.Station
	e.call("POST", "/stations", tok, client.StationInput{AS2ID: ptr("NEW ST/1")}).want(201).decode(&st)
	ref := "/stations/" + url.PathEscape(st.AS2ID) // an AS2 ID with a space and a slash
	get(ref, &st)
	e.call("PATCH", ref, tok, client.StationInput{NextCertID: &gen.ID}).want(200)
	if r := e.call("GET", ref+"/certificate?next=true", tok, nil).want(200); !strings.Contains(string(r.body), "BEGIN CERTIFICATE") {
		t.Fatalf("station certificate %q", r.body)
	}
	e.call("POST", ref+"/promote", tok, nil).want(200).decode(&st)
	if st.CertID != gen.ID {
		t.Fatalf("promoted %+v", st)
	}
	var stations client.List[client.Station]
	get("/stations", &stations)
	e.call("DELETE", ref, tok, nil).want(204)

	var p client.Partner
	e.call("POST", "/partners", tok, client.PartnerInput{AS2ID: ptr("P2"), URL: ptr("https://p2.example.com/as2"), Encrypt: ptr("none")}).want(201).decode(&p)
	get("/partners/P2", &p)
	e.call("PATCH", "/partners/"+p.ID, tok, client.PartnerInput{Subject: ptr("Hello")}).want(200).decode(&p)
	if p.Subject != "Hello" {
		t.Fatalf("partner %+v", p)
	}
	var partners client.List[client.Partner]
	get("/partners", &partners)
	e.call("DELETE", "/partners/P2", tok, nil).want(204)

	// Sending, the inbox and the outbox.
	var acc client.SendAccepted
	r := e.call("POST", "/messages", tok, "raw payload", "X-AS2-Station", "ST", "X-AS2-Partner", "PA", "X-Filename", "raw.txt").want(202)
	r.decode(&acc)
	if acc.Status != "queued" || r.header.Get("Location") != Prefix+"/outbox/"+acc.ID {
		t.Fatalf("accepted %+v, Location %q", acc, r.header.Get("Location"))
	}
	for box, id := range map[string]string{"inbox": in, "outbox": out} {
		var list client.List[client.Message]
		get("/"+box, &list)
		if len(list.Items) == 0 {
			t.Fatalf("%s is empty", box)
		}
		var d client.MessageDetail
		get("/"+box+"/"+id, &d)
		var files client.List[client.File]
		get("/"+box+"/"+id+"/files", &files)
		if len(files.Items) != 1 {
			t.Fatalf("%s files %+v", box, files)
		}
		get("/"+box+"/"+id+"/files/0", nil)
	}
	var both client.List[client.Message]
	get("/messages", &both)
	if !slices.ContainsFunc(both.Items, func(m client.Message) bool { return m.ID == in }) ||
		!slices.ContainsFunc(both.Items, func(m client.Message) bool { return m.ID == out }) {
		t.Fatalf("both boxes %+v, want %s and %s", both.Items, in, out)
	}
	e.call("GET", "/messages?direction=sideways", tok, nil).wantError(400, "invalid", "direction")
	var mdn client.MDN
	get("/inbox/"+in+"/mdn", &mdn)
	if mdn.OriginalMessageID != "<in-1@pa>" || mdn.Direction != "out" {
		t.Fatalf("mdn %+v", mdn)
	}
	if r := e.call("GET", "/inbox/"+in+"/mdn/raw", tok, nil).want(200); !strings.Contains(string(r.body), "disposition-notification") {
		t.Fatalf("raw MDN %q", r.body)
	}
	e.call("GET", "/outbox/"+out+"/mdn", tok, nil).wantError(404, "not_found", "")
	e.call("GET", "/outbox/"+out+"/mdn/raw", tok, nil).wantError(404, "not_found", "")
	e.call("POST", "/inbox/"+in+"/read", tok, nil).want(204)
	var d client.MessageDetail
	get("/inbox/"+in, &d)
	if !d.Read || d.Headers["As2-From"][0] != "PA" {
		t.Fatalf("detail %+v", d)
	}
	e.call("POST", "/inbox/"+in+"/unread", tok, nil).want(204)
	var m client.Message
	e.call("POST", "/outbox/"+out+"/cancel", tok, nil).want(200).decode(&m)
	e.call("POST", "/outbox/"+out+"/resend", tok, nil).want(200).decode(&m)
	if m.Status != "queued" {
		t.Fatalf("resent %+v", m)
	}
	var res client.DeleteResult
	e.call("POST", "/outbox/delete", tok, client.DeleteRequest{IDs: []string{acc.ID, in}}).want(200).decode(&res)
	if !slices.Equal(res.Deleted, []string{acc.ID}) || len(res.Failed) != 1 {
		t.Fatalf("bulk delete %+v", res)
	}
	second := e.received("<in-2@pa>")
	e.call("POST", "/inbox/delete", tok, client.DeleteRequest{IDs: []string{second}}).want(200)
	e.call("DELETE", "/outbox/"+out, tok, nil).want(204)
	e.call("DELETE", "/inbox/"+in, tok, nil).want(204)
	e.call("GET", "/inbox/"+in, tok, nil).wantError(404, "not_found", "")

	for _, p := range e.api.patterns {
		if !e.routed[p] {
			t.Errorf("route %s was not called", p)
		}
	}
}

// TestParamsAreText: a path or query value that is not UTF-8, or holds NUL,
// is a bad request whatever the route, before any database sees it.
func TestParamsAreText(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.tokens["admin"]
	for path, field := range map[string]string{"/users/%E9": "id", "/certificates/a%00b": "id", "/stations/%E9": "ref",
		"/partners/%C3": "ref", "/inbox/%E9": "id", "/inbox?subject=caf%E9": "subject", "/messages?message_id=a%00b": "message_id",
		"/outbox?station=%E9": "station", "/audit?actor=%E9": "actor", "/audit?action=a%00": "action"} {
		e.call("GET", path, tok, nil).wantError(400, "invalid", field)
	}
	e.call("GET", "/inbox?subject=caf%C3%A9", tok, nil).want(200)
}

// TestBoxes: an inbox route given an outbound message, and the reverse,
// answers 404; lists filter by read state and status.
func TestBoxes(t *testing.T) {
	e := newEnv(t, envOptions{})
	out, in := e.world()
	tok := e.tokens["viewer"]
	for _, path := range []string{"/inbox/" + out, "/outbox/" + in, "/inbox/" + out + "/files/0", "/outbox/" + in + "/mdn", "/inbox/nonsense"} {
		e.call("GET", path, tok, nil).wantError(404, "not_found", "")
	}
	e.call("POST", "/inbox/"+out+"/read", e.tokens["operator"], nil).wantError(404, "not_found", "")
	e.call("POST", "/outbox/"+in+"/cancel", e.tokens["operator"], nil).wantError(404, "not_found", "")
	e.call("POST", "/inbox/"+in+"/read", e.tokens["operator"], nil).want(204)
	other := e.received("<in-3@pa>")
	for query, want := range map[string]string{"read=true": in, "read=false": other, "status=queued": out, "status=sent&status=queued": out, "status=sent,queued": out} {
		box := "/inbox?"
		if strings.HasPrefix(query, "status") {
			box = "/outbox?"
		}
		var list client.List[client.Message]
		e.call("GET", box+query, tok, nil).want(200).decode(&list)
		if len(list.Items) != 1 || list.Items[0].ID != want {
			t.Errorf("%s%s: %+v", box, query, list.Items)
		}
	}
	// Pages of a list the service returns whole: every item once.
	for i := range 5 {
		e.received(fmt.Sprintf("<page-%d@pa>", i))
	}
	var seen []string
	cursor := ""
	for {
		var msgs client.List[client.Message]
		e.call("GET", "/inbox?limit=2"+cursor, tok, nil).want(200).decode(&msgs)
		for _, m := range msgs.Items {
			seen = append(seen, m.ID)
		}
		if msgs.NextCursor == "" {
			break
		}
		cursor = "&cursor=" + msgs.NextCursor
	}
	if len(seen) != 7 {
		t.Fatalf("paged through %d inbound messages, want 7", len(seen))
	}
	var first client.List[client.User]
	e.call("GET", "/users?limit=3", e.tokens["admin"], nil).want(200).decode(&first)
	if len(first.Items) != 3 || first.NextCursor == "" {
		t.Fatalf("first page of users %+v", first)
	}
	var rest client.List[client.User]
	e.call("GET", "/users?limit=3&cursor="+first.NextCursor, e.tokens["admin"], nil).want(200).decode(&rest)
	if len(rest.Items) != 1 || rest.NextCursor != "" {
		t.Fatalf("second page of users %+v", rest)
	}
	e.call("GET", "/users?cursor=%25%25", e.tokens["admin"], nil).wantError(400, "invalid", "cursor")
}
