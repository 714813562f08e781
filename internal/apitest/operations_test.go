package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/pki"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// TestAdministration goes through the operations on logins, users, API
// keys, the audit log, certificates, stations and partners with the client.
func TestAdministration(t *testing.T) {
	t.Parallel()
	s := start(t, "admin")
	admin := s.as["admin"]

	doc, err := client.New(s.url).OpenAPI(ctx(t)) // no credentials needed
	if err != nil {
		t.Fatal(err)
	}
	var openapi struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(doc, &openapi); err != nil || openapi.OpenAPI != "3.0.3" || openapi.Paths["/inbox/{id}/files/{index}"] == nil {
		t.Fatalf("OpenAPI document (%v): %.300s", err, doc)
	}
	me, err := s.as["manager"].Me(ctx(t))
	if err != nil || me.Kind != "user" || me.Name != "manager-user" || me.Role != "manager" {
		t.Fatalf("me %+v %v", me, err)
	}

	// Users.
	users, err := admin.ListUsers(ctx(t))
	if err != nil || len(users) != 5 { // the first start's admin, and ours
		t.Fatalf("users %+v %v", users, err)
	}
	carl, err := admin.CreateUser(ctx(t), client.UserInput{Username: ptr("carl"), Password: ptr(password), Role: ptr("viewer")})
	if err != nil || carl.Username != "carl" || carl.Role != "viewer" {
		t.Fatalf("created %+v %v", carl, err)
	}
	_, err = admin.CreateUser(ctx(t), client.UserInput{Username: ptr("carl"), Password: ptr(password), Role: ptr("viewer")})
	apiError(t, err, 409, "conflict")
	_, err = admin.CreateUser(ctx(t), client.UserInput{Username: ptr("dora"), Password: ptr("short"), Role: ptr("viewer")})
	if e := apiError(t, err, 400, "invalid"); e.Field != "password" {
		t.Fatalf("short password: %+v", e)
	}
	carlClient := s.login(t, "carl")
	if carl, err = admin.UpdateUser(ctx(t), carl.ID, client.UserInput{Role: ptr("operator"), Password: ptr(password + "!")}); err != nil || carl.Role != "operator" {
		t.Fatalf("updated %+v %v", carl, err)
	}
	_, err = carlClient.Me(ctx(t)) // a new password ends the logins
	apiError(t, err, 401, "unauthorized")
	if got, err := admin.GetUser(ctx(t), carl.ID); err != nil || *got != *carl {
		t.Fatalf("got %+v %v, want %+v", got, err, carl)
	}
	if err := admin.DeleteUser(ctx(t), carl.ID); err != nil {
		t.Fatal(err)
	}
	_, err = admin.GetUser(ctx(t), carl.ID)
	apiError(t, err, 404, "not_found")

	// API keys: the secret once, usable, then revoked.
	key, err := admin.CreateAPIKey(ctx(t), client.APIKeyInput{Name: "erp", Role: "operator"})
	if err != nil || !strings.HasPrefix(key.Secret, "as2k_") || !strings.HasPrefix(key.Secret, key.Prefix) {
		t.Fatalf("key %+v %v", key, err)
	}
	erp := client.New(s.url, client.WithToken(key.Secret))
	if me, err := erp.Me(ctx(t)); err != nil || me.Kind != "api_key" || me.Name != "erp" || me.Role != "operator" {
		t.Fatalf("me with the key: %+v %v", me, err)
	}
	keys, err := admin.ListAPIKeys(ctx(t))
	if err != nil || len(keys) != 1 || keys[0].Secret != "" || keys[0].LastUsedAt.IsZero() {
		t.Fatalf("keys %+v %v", keys, err)
	}
	if err := admin.RevokeAPIKey(ctx(t), key.ID); err != nil {
		t.Fatal(err)
	}
	_, err = erp.Me(ctx(t))
	apiError(t, err, 401, "unauthorized")

	// Certificates.
	peer := testpeer.NewIdentity(t, "partner P")
	imported, err := s.as["manager"].ImportCertificate(ctx(t), client.CertificateImport{Name: "P", Data: pki.EncodeCertPEM(peer.Cert)})
	if err != nil || imported.HasPrivateKey || imported.Name != "P" || imported.Expired {
		t.Fatalf("imported %+v %v", imported, err)
	}
	_, err = s.as["manager"].ImportCertificate(ctx(t), client.CertificateImport{Data: []byte("junk")})
	if e := apiError(t, err, 400, "invalid"); e.Field != "data" {
		t.Fatalf("junk: %+v", e)
	}
	generated, err := s.as["manager"].GenerateCertificate(ctx(t), client.CertificateGenerate{Name: "next", CommonName: "ST 2027", ValidYears: 2})
	if err != nil || !generated.HasPrivateKey || generated.DaysLeft < 700 {
		t.Fatalf("generated %+v %v", generated, err)
	}
	pem, err := s.as["viewer"].CertificatePEM(ctx(t), imported.ID)
	if err != nil || !bytes.Equal(pem, pki.EncodeCertPEM(peer.Cert)) {
		t.Fatalf("PEM %q %v", pem, err)
	}
	if c, err := s.as["viewer"].GetCertificate(ctx(t), generated.ID); err != nil || c.Fingerprint != generated.Fingerprint {
		t.Fatalf("get %+v %v", c, err)
	}

	// Stations: created with a key pair, rolled over to the generated one.
	st, err := s.as["manager"].CreateStation(ctx(t), client.StationInput{AS2ID: ptr("OUR ID/1"), Email: ptr("ops@example.com")})
	if err != nil || st.CertID == "" {
		t.Fatalf("station %+v %v", st, err)
	}
	if st, err = s.as["manager"].UpdateStation(ctx(t), "OUR ID/1", client.StationInput{NextCertID: &generated.ID}); err != nil || st.NextCertID != generated.ID {
		t.Fatalf("rollover %+v %v", st, err)
	}
	next, err := s.as["viewer"].StationCertificatePEM(ctx(t), st.AS2ID, true)
	if err != nil || !strings.Contains(string(next), "BEGIN CERTIFICATE") {
		t.Fatalf("next certificate %q %v", next, err)
	}
	if st, err = s.as["manager"].PromoteStationCertificate(ctx(t), st.ID); err != nil || st.CertID != generated.ID || st.NextCertID != "" {
		t.Fatalf("promoted %+v %v", st, err)
	}
	err = s.as["manager"].DeleteCertificate(ctx(t), generated.ID)
	apiError(t, err, 409, "conflict") // in use

	// Partners.
	p, err := s.as["manager"].CreatePartner(ctx(t), client.PartnerInput{AS2ID: ptr("P"), URL: ptr("https://p.example.com/as2"),
		EncryptCertID: &imported.ID, Compress: ptr("before"), Headers: &[]client.Header{{Name: "X-Route", Value: "eu"}}})
	if err != nil || p.Sign != "sha256" || p.Encrypt != "aes256-cbc" || p.Compress != "before" || len(p.Headers) != 1 {
		t.Fatalf("partner %+v %v", p, err)
	}
	if p, err = s.as["manager"].UpdatePartner(ctx(t), "P", client.PartnerInput{Subject: ptr("Orders"), Retries: ptr(2)}); err != nil ||
		p.Subject != "Orders" || p.Retries != 2 || p.Compress != "before" {
		t.Fatalf("updated partner %+v %v", p, err)
	}
	if got, err := s.as["viewer"].GetPartner(ctx(t), p.ID); err != nil || got.Subject != "Orders" {
		t.Fatalf("get partner %+v %v", got, err)
	}
	_, err = s.as["manager"].CreatePartner(ctx(t), client.PartnerInput{AS2ID: ptr("Q"), URL: ptr("ftp://q")})
	apiError(t, err, 400, "invalid")
	partners, err := s.as["viewer"].ListPartners(ctx(t))
	if err != nil || len(partners) != 1 {
		t.Fatalf("partners %+v %v", partners, err)
	}
	stations, err := s.as["viewer"].ListStations(ctx(t))
	if err != nil || len(stations) != 1 || stations[0].AS2ID != "OUR ID/1" {
		t.Fatalf("stations %+v %v", stations, err)
	}
	certs, err := s.as["viewer"].ListCertificates(ctx(t))
	if err != nil || len(certs) != 3 {
		t.Fatalf("certificates %+v %v", certs, err)
	}
	if err := s.as["manager"].DeletePartner(ctx(t), "P"); err != nil {
		t.Fatal(err)
	}
	if err := s.as["manager"].DeleteStation(ctx(t), st.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{imported.ID, generated.ID} {
		if err := s.as["manager"].DeleteCertificate(ctx(t), id); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.as["viewer"].GetStation(ctx(t), "OUR ID/1")
	apiError(t, err, 404, "not_found")

	// The audit log recorded it all, by whom, and pages through.
	since := time.Now().Add(-time.Hour)
	audit, err := admin.ListAudit(ctx(t), client.AuditFilter{Action: "partner.update", Since: since})
	if err != nil || len(audit.Items) != 1 || audit.Items[0].Actor != "manager-user" || audit.Items[0].Result != "ok" || audit.Items[0].Remote != "127.0.0.1" {
		t.Fatalf("audit of partner.update %+v %v", audit, err)
	}
	var seen []string
	f := client.AuditFilter{Actor: "manager-user", Limit: 3}
	for {
		page, err := admin.ListAudit(ctx(t), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Items {
			seen = append(seen, e.Action)
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	// Newest first: the last change first, the first login last.
	if len(seen) < 10 || seen[0] != "certificate.delete" || seen[len(seen)-1] != "auth.login" {
		t.Fatalf("the manager's audit entries: %v", seen)
	}

	// Logout ends the token, and the refresh token given with it.
	tok, err := client.New(s.url).Token(ctx(t), "viewer-user", password)
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(s.url, client.WithToken(tok.AccessToken))
	if err := c.Logout(ctx(t), tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	_, err = c.Me(ctx(t))
	apiError(t, err, 401, "unauthorized")
	_, err = client.New(s.url).Refresh(ctx(t), tok.RefreshToken)
	apiError(t, err, 401, "unauthorized")
}

// TestMessages goes through the operations on messages that a round trip
// does not: lists with filters and cursors in both boxes, resend, cancel,
// delete and bulk delete.
func TestMessages(t *testing.T) {
	t.Parallel()
	s := start(t, "messages")
	s.loop(t)
	admin, op, viewer := s.as["admin"], s.as["operator"], s.as["viewer"]
	// A partner that refuses connections: its messages wait for a retry.
	down, err := admin.CreatePartner(ctx(t), client.PartnerInput{AS2ID: ptr("DOWN"), URL: ptr("http://127.0.0.1:1/as2"), Encrypt: ptr("none"),
		Retries: ptr(3), RetryDelaySeconds: ptr(3600)})
	if err != nil {
		t.Fatal(err)
	}

	var out []*client.Message
	for i := range 3 {
		m, err := op.Send(ctx(t), client.SendRequest{Station: "LOOP", Partner: "LOOP", Subject: fmt.Sprintf("loop %d", i),
			Files: []client.SendFile{{Name: fmt.Sprintf("f%d.txt", i), Content: strings.NewReader(strings.Repeat("x", i+1))}}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, waitSent(t, viewer, m.ID))
	}
	stuck, err := op.Send(ctx(t), client.SendRequest{Station: "LOOP", Partner: down.AS2ID, Subject: "to nobody",
		Files: []client.SendFile{{Name: "nobody.txt", Content: strings.NewReader("hello")}}})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		m, err := viewer.GetMessage(ctx(t), stuck.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status == "queued" && m.Attempts == 1 {
			break // the first attempt failed; the next is an hour away
		}
		if time.Now().After(deadline) {
			t.Fatalf("message to DOWN %+v", m)
		}
	}

	// Both boxes, newest first: the received copies of the three, then
	// the three and the stuck one, interleaved by creation.
	all := pages(t, viewer, client.MessageFilter{Limit: 2})
	if len(all) != 7 || !slices.IsSortedFunc(all, func(a, b client.Message) int { return strings.Compare(b.ID, a.ID) }) {
		t.Fatalf("%d messages: %v", len(all), ids(all))
	}
	for _, tc := range []struct {
		name   string
		filter client.MessageFilter
		want   int
	}{
		{"inbox", client.MessageFilter{Direction: "in"}, 3},
		{"outbox", client.MessageFilter{Direction: "out"}, 4},
		{"outbox by status", client.MessageFilter{Status: []string{"queued", "failed"}}, 1},
		{"sent", client.MessageFilter{Direction: "out", Status: []string{"sent"}}, 3},
		{"by subject", client.MessageFilter{Subject: "LOOP 1"}, 2},
		{"by partner", client.MessageFilter{Partner: "DOWN"}, 1},
		{"by station", client.MessageFilter{Station: "LOOP", Direction: "in"}, 3},
		{"by message id", client.MessageFilter{MessageID: out[2].MessageID}, 2},
		{"unread", client.MessageFilter{Read: ptr(false), Direction: "in"}, 3},
		{"read", client.MessageFilter{Read: ptr(true)}, 0},
		{"since now", client.MessageFilter{Since: time.Now().Add(time.Minute)}, 0},
		{"until now", client.MessageFilter{Until: time.Now().Add(time.Minute), Direction: "out"}, 4},
		// Sent one after the other, each over before the next began.
		{"a window", client.MessageFilter{Since: out[1].CreatedAt, Until: stuck.CreatedAt, Direction: "out"}, 2},
	} {
		if got := pages(t, viewer, tc.filter); len(got) != tc.want {
			t.Errorf("%s: %d messages, want %d: %+v", tc.name, len(got), tc.want, got)
		}
	}
	_, err = viewer.ListMessages(ctx(t), client.MessageFilter{Station: "NOPE"})
	if e := apiError(t, err, 400, "invalid"); e.Field != "station" {
		t.Fatalf("unknown station: %+v", e)
	}
	_, err = viewer.ListMessages(ctx(t), client.MessageFilter{Limit: 5000})
	if e := apiError(t, err, 400, "invalid"); e.Field != "limit" {
		t.Fatalf("limit 5000: %+v", e)
	}

	// Resend: the same Message-ID again, received as a duplicate.
	_, err = viewer.ResendMessage(ctx(t), out[0].ID)
	apiError(t, err, 403, "forbidden")
	resent, err := op.ResendMessage(ctx(t), out[0].ID)
	if err != nil || resent.MessageID != out[0].MessageID || resent.Status != "queued" {
		t.Fatalf("resent %+v %v", resent, err)
	}
	waitSent(t, viewer, resent.ID)
	// Cancel: only while queued.
	_, err = op.CancelMessage(ctx(t), out[1].ID)
	apiError(t, err, 409, "conflict")
	canceled, err := op.CancelMessage(ctx(t), stuck.ID)
	if err != nil || canceled.Status != "canceled" {
		t.Fatalf("canceled %+v %v", canceled, err)
	}

	// Delete: one of each box, then the rest in bulk, refusing what is in
	// the other box.
	in := pages(t, viewer, client.MessageFilter{Direction: "in"})
	if err := op.DeleteMessage(ctx(t), in[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := op.DeleteMessage(ctx(t), stuck.ID); err != nil {
		t.Fatal(err)
	}
	_, err = viewer.GetMessage(ctx(t), stuck.ID)
	apiError(t, err, 404, "not_found")
	res, err := op.DeleteMessages(ctx(t), "in", []string{in[1].ID, in[2].ID, out[0].ID, "nonsense"})
	if err != nil || !slices.Equal(res.Deleted, []string{in[1].ID, in[2].ID}) || len(res.Failed) != 2 || res.Failed[out[0].ID] == "" {
		t.Fatalf("bulk delete %+v %v", res, err)
	}
	if left := pages(t, viewer, client.MessageFilter{}); len(left) != 3 || left[0].Direction != "out" {
		t.Fatalf("left %+v", left)
	}
}

// pages lists every message a filter selects, a page at a time.
func pages(t *testing.T, c *client.Client, f client.MessageFilter) []client.Message {
	t.Helper()
	var all []client.Message
	for range 100 {
		page, err := c.ListMessages(ctx(t), f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		f.Cursor = page.NextCursor
	}
	t.Fatalf("%+v: more than 100 pages", f)
	return nil
}

func ids(list []client.Message) []string {
	var out []string
	for _, m := range list {
		out = append(out, m.Direction+" "+m.ID)
	}
	return out
}
