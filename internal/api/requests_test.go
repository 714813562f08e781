package api

import (
	"context"
	"strings"
	"testing"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/pki"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// TestBadRequests: what a client gets wrong is answered 400 (413 for size)
// in the one error shape, naming the field.
func TestBadRequests(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.world()
	admin := e.tokens["admin"]
	big := `{"name": "` + strings.Repeat("x", 1<<20) + `"}`
	for _, c := range []struct {
		name, method, path string
		body               any
		status             int
		code, field        string
	}{
		{"malformed JSON", "POST", "/partners", `{"as2_id": "X",`, 400, "invalid", "body"},
		{"syntax error", "POST", "/partners", `{"as2_id" "X"}`, 400, "invalid", "body"},
		{"empty body", "POST", "/partners", ``, 400, "invalid", "body"},
		{"two values", "POST", "/partners", `{} {}`, 400, "invalid", "body"},
		{"not an object", "POST", "/partners", `[1]`, 400, "invalid", "body"},
		{"wrong type", "POST", "/partners", `{"as2_id": 5}`, 400, "invalid", "as2_id"},
		{"wrong type nested", "POST", "/partners", `{"headers": [{"name": 1}]}`, 400, "invalid", "headers.name"},
		{"wrong type number", "POST", "/certificates/generate", `{"common_name": "x", "key_bits": "big"}`, 400, "invalid", "key_bits"},
		{"unknown field", "POST", "/partners", `{"as2_id": "X", "colour": "red"}`, 400, "invalid", "colour"},
		{"bad base64", "POST", "/certificates", `{"data": "!!!"}`, 400, "invalid", "body"},
		{"oversized", "POST", "/users", big, 413, "too_large", "body"},
		{"validation", "POST", "/users", client.UserInput{Username: ptr("x"), Password: ptr("short"), Role: ptr("viewer")}, 400, "invalid", "password"},
		{"bad limit", "GET", "/inbox?limit=many", nil, 400, "invalid", "limit"},
		{"limit too high", "GET", "/outbox?limit=5000", nil, 400, "invalid", "limit"},
		{"limit too high in memory", "GET", "/partners?limit=5000", nil, 400, "invalid", "limit"},
		{"bad time", "GET", "/inbox?since=yesterday", nil, 400, "invalid", "since"},
		{"bad bool", "GET", "/inbox?read=maybe", nil, 400, "invalid", "read"},
		{"bad status", "GET", "/outbox?status=lost", nil, 400, "invalid", "status"},
		{"bad cursor", "GET", "/outbox?cursor=..%2F..", nil, 400, "invalid", "cursor"},
		{"unknown parameter", "GET", "/inbox?colour=red", nil, 400, "invalid", "colour"},
		{"read on the outbox", "GET", "/outbox?read=true", nil, 400, "invalid", "read"},
		{"repeated parameter", "GET", "/inbox?limit=1&limit=2", nil, 400, "invalid", "limit"},
		{"unknown station filter", "GET", "/inbox?station=NOPE", nil, 400, "invalid", "station"},
		{"bulk delete of 101", "POST", "/inbox/delete", client.DeleteRequest{IDs: make([]string, 101)}, 400, "invalid", "ids"},
		{"unknown route", "GET", "/nowhere", nil, 404, "not_found", ""},
		{"unknown record", "GET", "/partners/NOPE", nil, 404, "not_found", ""},
		{"conflict", "POST", "/stations", client.StationInput{AS2ID: ptr("ST")}, 409, "conflict", ""},
		{"in use", "DELETE", "/certificates/" + e.firstCert(), nil, 409, "conflict", ""},
		{"last admin", "PATCH", "/users/" + e.userID("admin-user"), client.UserInput{Role: ptr("viewer")}, 409, "conflict", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			e.call(c.method, c.path, admin, c.body).wantError(c.status, c.code, c.field)
		})
	}
	e.t = t
	r := e.call("PUT", "/partners", admin, nil).wantError(405, "invalid", "")
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Fatalf("Allow %q", allow)
	}
}

func (e *env) firstCert() string {
	certs, err := e.svc.ListCertificates(context.Background())
	if err != nil || len(certs) == 0 {
		e.t.Fatal("no certificate", err)
	}
	return certs[0].ID
}

func (e *env) userID(name string) string {
	u, err := e.store.GetUserByName(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

// TestAudit: changes are recorded with who, what, when and from where,
// failed ones too; reads are not.
func TestAudit(t *testing.T) {
	e := newEnv(t, envOptions{})
	out, in := e.world()
	ctx := context.Background()
	count := func() int {
		list, err := e.store.ListAudit(ctx, as2gate.AuditFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	before := count()
	for _, path := range []string{"/me", "/inbox", "/outbox", "/inbox/" + in, "/outbox/" + out + "/files", "/inbox/" + in + "/files/0",
		"/stations", "/partners/PA", "/certificates", "/users", "/api-keys", "/audit", "/openapi.json", "/inbox/" + in + "/mdn"} {
		e.call("GET", path, e.tokens["admin"], nil).want(200)
	}
	if n := count(); n != before {
		t.Fatalf("reads added %d audit entries", n-before)
	}
	e.call("PATCH", "/partners/PA", e.tokens["manager"], client.PartnerInput{Name: ptr("Partner A")}).want(200)
	e.call("PATCH", "/partners/PA", e.tokens["manager"], `{"name": 5}`).wantError(400, "invalid", "name")
	e.call("POST", "/inbox/"+in+"/read", e.tokens["operator"], nil).want(204)
	var log client.List[client.AuditEntry]
	e.call("GET", "/audit?actor=manager-user&action=partner.update", e.tokens["admin"], nil).want(200).decode(&log)
	if len(log.Items) != 2 {
		t.Fatalf("manager's entries %+v", log.Items)
	}
	results := map[string]bool{}
	for _, entry := range log.Items {
		if entry.Action != "partner.update" || entry.Target != "PA" || entry.Remote != "127.0.0.1" || entry.At.IsZero() {
			t.Fatalf("entry %+v", entry)
		}
		results[entry.Result] = true
	}
	if !results["ok"] || !results["invalid"] {
		t.Fatalf("results %v, want ok and invalid", results)
	}
	e.call("GET", "/audit?action=inbox.read", e.tokens["admin"], nil).want(200).decode(&log)
	if len(log.Items) != 1 || log.Items[0].Actor != "operator-user" || log.Items[0].Target != in {
		t.Fatalf("read entries %+v", log.Items)
	}
}

// TestCertificateImportSize: a certificate file of up to 1 MiB is
// imported, though base64 in JSON makes it a third larger; a bigger body
// is refused with 413 in the API's error shape.
func TestCertificateImportSize(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.tokens["admin"]
	// A long chain: the certificate, then others up to almost 1 MiB.
	first := pki.EncodeCertPEM(testpeer.NewIdentity(t, "chain").Cert)
	other := pki.EncodeCertPEM(testpeer.NewIdentity(t, "issuer").Cert)
	chain := append([]byte{}, first...)
	for len(chain)+len(other) <= 1<<20 {
		chain = append(chain, other...)
	}
	for _, c := range []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"a chain of almost 1 MiB", client.CertificateImport{Data: chain}, 201, "", ""},
		{"a file over 1 MiB", client.CertificateImport{Data: append(chain, other...)}, 413, "too_large", "data"},
		{"a body over 1.5 MiB", `{"name": "` + strings.Repeat("x", 3<<19) + `"}`, 413, "too_large", "body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			r := e.call("POST", "/certificates", admin, c.body)
			if c.code == "" {
				r.want(c.status)
			} else {
				r.wantError(c.status, c.code, c.field)
			}
		})
	}
}
