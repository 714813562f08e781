package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/pki"
	"github.com/as2gate/as2gate/internal/service"
	"github.com/as2gate/as2gate/internal/testpeer"
)

// TestPermissions tries each role on every route it must not reach, with
// a request that would succeed otherwise: 403, nothing changed, and the
// refusal of a change is in the audit log.
func TestPermissions(t *testing.T) {
	e := newEnv(t, envOptions{})
	out, in := e.world()
	ctx := context.Background()
	users, _ := e.store.ListUsers(ctx)
	viewer := users[len(users)-1].ID
	key, err := e.svc.CreateAPIKey(ctx, client.APIKeyInput{Name: "k", Role: "viewer"})
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := e.svc.ListCertificates(ctx)
	pem := pki.EncodeCertPEM(testpeer.NewIdentity(t, "perm").Cert)
	// What each route is tried with: its path parameters and a body.
	ids := map[string]string{"{id}": "", "{ref}": "ST", "{index}": "0"}
	bodies := map[string]any{
		"POST /users":                  client.UserInput{Username: ptr("eve"), Password: ptr(testPassword), Role: ptr("admin")},
		"PATCH /users/{id}":            client.UserInput{Role: ptr("admin")},
		"POST /api-keys":               client.APIKeyInput{Name: "eve", Role: "admin"},
		"POST /certificates":           client.CertificateImport{Data: pem},
		"POST /certificates/generate":  client.CertificateGenerate{CommonName: "eve"},
		"POST /stations":               client.StationInput{AS2ID: ptr("EVE")},
		"PATCH /stations/{ref}":        client.StationInput{Name: ptr("eve")},
		"POST /partners":               client.PartnerInput{AS2ID: ptr("EVE"), URL: ptr("https://eve.example.com/as2"), Encrypt: ptr("none")},
		"PATCH /partners/{ref}":        client.PartnerInput{Name: ptr("eve")},
		"POST /inbox/delete":           client.DeleteRequest{IDs: []string{in}},
		"POST /outbox/delete":          client.DeleteRequest{IDs: []string{out}},
		"POST /messages":               "payload",
		"POST /stations/{ref}/promote": nil,
	}
	roles := []as2gate.Role{as2gate.RoleAdmin, as2gate.RoleManager, as2gate.RoleOperator, as2gate.RoleViewer}
	tried := 0
	for _, rt := range routes {
		if rt.perm == permNone || rt.perm == permAuthenticated {
			continue
		}
		path := rt.path
		for name, v := range ids {
			switch {
			case name == "{id}" && strings.HasPrefix(path, "/users"):
				v = viewer
			case name == "{id}" && strings.HasPrefix(path, "/api-keys"):
				v = key.ID
			case name == "{id}" && strings.HasPrefix(path, "/certificates"):
				v = cert[0].ID
			case name == "{id}" && strings.HasPrefix(path, "/inbox"):
				v = in
			case name == "{id}":
				v = out
			}
			path = strings.ReplaceAll(path, name, url.PathEscape(v))
		}
		for _, role := range roles {
			if role.Can(as2gate.Permission(rt.perm)) {
				continue
			}
			before := e.snapshot()
			audited, _ := e.store.ListAudit(ctx, as2gate.AuditFilter{Actor: string(role) + "-user", Limit: 1000})
			e.call(rt.method, path, e.tokens[string(role)], bodies[rt.method+" "+rt.path], "X-AS2-Station", "ST", "X-AS2-Partner", "PA").
				wantError(403, "forbidden", "")
			if after := e.snapshot(); after != before {
				t.Errorf("%s %s as %s: refused, but something changed", rt.method, path, role)
			}
			now, _ := e.store.ListAudit(ctx, as2gate.AuditFilter{Actor: string(role) + "-user", Limit: 1000})
			if rt.action != "" && (len(now) != len(audited)+1 || now[0].Action != rt.action || now[0].Result != "forbidden") {
				t.Errorf("%s %s as %s: the refusal is not in the audit log", rt.method, path, role)
			}
			tried++
		}
	}
	if tried < 60 {
		t.Fatalf("only %d refusals tried", tried)
	}
}

// TestUnauthenticated: every route but the open ones needs credentials.
func TestUnauthenticated(t *testing.T) {
	e := newEnv(t, envOptions{})
	revoked, err := e.svc.CreateAPIKey(context.Background(), client.APIKeyInput{Name: "old", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RevokeAPIKey(context.Background(), revoked.ID); err != nil {
		t.Fatal(err)
	}
	refresh := e.login("admin-user", testPassword).RefreshToken
	for _, rt := range routes {
		if rt.perm == permNone {
			continue
		}
		path := strings.NewReplacer("{id}", "x", "{ref}", "x", "{index}", "0").Replace(rt.path)
		for _, auth := range []string{"", "Bearer", "Basic YWRtaW46eA==", "Bearer as2t_nope", "Bearer " + refresh, "Bearer " + revoked.Secret} {
			r := e.call(rt.method, path, "", nil, "Authorization", auth).wantError(401, "unauthorized", "")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s %s: WWW-Authenticate %q", rt.method, path, r.header.Get("WWW-Authenticate"))
			}
		}
	}
}

func TestTokenLifecycle(t *testing.T) {
	e := newEnv(t, envOptions{access: time.Minute, refresh: time.Hour})
	tok := e.login("operator-user", testPassword)
	if tok.ExpiresIn != 60 || tok.RefreshExpiresIn != 3600 || tok.Role != "operator" {
		t.Fatalf("tokens %+v", tok)
	}
	e.call("GET", "/me", tok.AccessToken, nil).want(200)
	e.clock.Advance(61 * time.Second)
	e.call("GET", "/me", tok.AccessToken, nil).wantError(401, "unauthorized", "")

	var next client.Tokens
	e.call("POST", "/auth/refresh", "", client.RefreshRequest{RefreshToken: tok.RefreshToken}).want(200).decode(&next)
	e.call("GET", "/me", next.AccessToken, nil).want(200)
	// The old refresh token again: the whole login is revoked.
	e.call("POST", "/auth/refresh", "", client.RefreshRequest{RefreshToken: tok.RefreshToken}).wantError(401, "unauthorized", "")
	e.call("GET", "/me", next.AccessToken, nil).wantError(401, "unauthorized", "")
	e.call("POST", "/auth/refresh", "", client.RefreshRequest{RefreshToken: next.RefreshToken}).wantError(401, "unauthorized", "")
	log, _ := e.store.ListAudit(context.Background(), as2gate.AuditFilter{Action: "auth.refresh"})
	if len(log) != 2 {
		t.Fatalf("%d refresh failures in the audit log, want 2", len(log))
	}
	for _, entry := range log {
		if entry.Result != "unauthorized" || entry.Actor != "operator-user" {
			t.Fatalf("refresh audit %+v", *entry)
		}
	}

	// Logout with the refresh token of another login of the same user.
	a, b := e.login("operator-user", testPassword), e.login("operator-user", testPassword)
	e.call("POST", "/auth/logout", a.AccessToken, client.RefreshRequest{RefreshToken: b.RefreshToken}).want(204)
	e.call("GET", "/me", a.AccessToken, nil).wantError(401, "unauthorized", "")
	e.call("GET", "/me", b.AccessToken, nil).wantError(401, "unauthorized", "")
	e.call("POST", "/auth/refresh", "", client.RefreshRequest{RefreshToken: a.RefreshToken}).wantError(401, "unauthorized", "")

	e.call("POST", "/auth/token", "", client.TokenRequest{Username: "operator-user", Password: "wrong"}).wantError(401, "unauthorized", "")
	e.call("POST", "/auth/token", "", client.TokenRequest{Username: "nobody", Password: testPassword}).wantError(401, "unauthorized", "")
}

func TestAPIKeyUse(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.tokens["admin"]
	var key client.APIKey
	e.call("POST", "/api-keys", admin, client.APIKeyInput{Name: "erp", Role: "operator"}).want(201).decode(&key)
	var me client.Principal
	e.call("GET", "/me", key.Secret, nil).want(200).decode(&me)
	if me.Kind != "api_key" || me.Name != "erp" || me.Role != "operator" {
		t.Fatalf("me %+v", me)
	}
	e.call("GET", "/users", key.Secret, nil).wantError(403, "forbidden", "")
	var keys client.List[client.APIKey]
	e.call("GET", "/api-keys", admin, nil).want(200).decode(&keys)
	if len(keys.Items) != 1 || keys.Items[0].LastUsedAt.IsZero() || keys.Items[0].CreatedBy != "admin-user" || keys.Items[0].Prefix != key.Secret[:12] {
		t.Fatalf("keys %+v", keys)
	}
	e.call("POST", "/auth/logout", key.Secret, nil).wantError(400, "invalid", "")
	e.call("DELETE", "/api-keys/"+key.ID, admin, nil).want(204)
	e.call("GET", "/me", key.Secret, nil).wantError(401, "unauthorized", "")
	e.call("GET", "/api-keys", admin, nil).want(200).decode(&keys)
	if keys.Items[0].RevokedAt.IsZero() {
		t.Fatalf("revoked key %+v", keys.Items[0])
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t, envOptions{limit: LoginLimit{Failures: 3, Window: time.Minute, Lockout: 10 * time.Second, MaxLockout: time.Hour}})
	bad := client.TokenRequest{Username: "viewer-user", Password: "wrong password"}
	for range 3 {
		e.call("POST", "/auth/token", "", bad).wantError(401, "unauthorized", "")
	}
	// Locked out, the right password too.
	r := e.call("POST", "/auth/token", "", client.TokenRequest{Username: "viewer-user", Password: testPassword}).wantError(429, "rate_limited", "")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// The client's address is locked out as well, for other users.
	e.call("POST", "/auth/token", "", client.TokenRequest{Username: "admin-user", Password: testPassword}).wantError(429, "rate_limited", "")
	e.clock.Advance(11 * time.Second) // past the first lockout
	e.login("viewer-user", testPassword)
	// The lockout doubles.
	for range 3 {
		e.call("POST", "/auth/token", "", bad).wantError(401, "unauthorized", "")
	}
	e.clock.Advance(11 * time.Second) // not past the second, twice as long
	e.call("POST", "/auth/token", "", bad).wantError(429, "rate_limited", "")
	log, _ := e.store.ListAudit(context.Background(), as2gate.AuditFilter{Action: "auth.login", Limit: 100})
	results := map[string]int{}
	for _, entry := range log {
		results[entry.Result]++
	}
	// Of the attempts a lockout refuses, the first is audited: a flood
	// of them is not a flood of audit entries.
	if results["rate_limited"] != 2 || results["unauthorized"] != 6 {
		t.Fatalf("login audit %v", results)
	}
	// Refused before the password is checked, a login as a user that
	// does not exist names none in the audit log, nor the CLI.
	for _, name := range []string{"cli", "nobody"} {
		e.clock.Advance(2 * time.Hour) // past every lockout: the next is new
		for range 3 {
			e.call("POST", "/auth/token", "", bad).wantError(401, "unauthorized", "")
		}
		e.call("POST", "/auth/token", "", client.TokenRequest{Username: name, Password: "x"}).wantError(429, "rate_limited", "")
		log, _ := e.store.ListAudit(context.Background(), as2gate.AuditFilter{Action: "auth.login", Limit: 1})
		if log[0].Actor != service.UnknownActor || log[0].Target != name || log[0].Result != "rate_limited" {
			t.Fatalf("refused login as %s: audit %+v", name, *log[0])
		}
	}
}

// TestLoginRateLimitParallel: attempts count before the password is
// checked, so parallel wrong passwords cannot all pass the limit before
// the first failure is recorded.
func TestLoginRateLimitParallel(t *testing.T) {
	e := newEnv(t, envOptions{limit: LoginLimit{Failures: 3, Window: time.Minute, Lockout: time.Minute, MaxLockout: time.Hour}})
	bad, _ := json.Marshal(client.TokenRequest{Username: "viewer-user", Password: "wrong password"})
	statuses := make(chan int, 20)
	var wg sync.WaitGroup
	for range cap(statuses) {
		wg.Go(func() {
			resp, err := http.Post(e.srv.URL+Prefix+"/auth/token", "application/json", bytes.NewReader(bad))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[401] > 3 || count[401]+count[429] != cap(statuses) {
		t.Fatalf("answers %v: want at most 3 password checks, the rest 429", count)
	}
}

// TestLoginNameBounded: a login name no user can have is refused before
// it takes room in the limiter's table or in the audit log.
func TestLoginNameBounded(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, name := range []string{strings.Repeat("a", 1<<19), strings.Repeat("b", 101), "", "bob smith", "bob\x00", "bob\xe9", "bøb"} {
		long, _ := json.Marshal(client.TokenRequest{Username: name, Password: "wrong password"})
		resp, err := http.Post(e.srv.URL+Prefix+"/auth/token", "application/json", bytes.NewReader(long))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "username") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	e.api.limiter.mu.Lock()
	tracked := len(e.api.limiter.entries)
	e.api.limiter.mu.Unlock()
	if tracked != 0 {
		t.Fatalf("%d limiter entries for names no user can have", tracked)
	}
	entries, err := e.store.ListAudit(t.Context(), as2gate.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range entries {
		if a.Action == "auth.login" && !service.IsUsername(a.Target) {
			t.Fatalf("audit entry of a login as a name no user can have: %+v", a)
		}
	}
}

// TestLimiter drives the limiter through attempts (+ begun, - failed,
// = succeeded) and checks which are let through.
func TestLimiter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit LoginLimit
		steps string // one character per step, on the key "k"
		want  string // y: begun, n: refused (for + only; other steps: .)
	}{
		{"failures lock out", LoginLimit{Failures: 2}, "+-+-+", "y.y.n"},
		{"attempts in flight count", LoginLimit{Failures: 2}, "+++", "yyn"},
		{"a success frees its place", LoginLimit{Failures: 2}, "+=+=+=+", "y.y.y.y"},
		{"a success forgets failures", LoginLimit{Failures: 2}, "+-+=+-+", "y.y.y.y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(tc.limit)
			got := ""
			for _, step := range tc.steps {
				switch step {
				case '+':
					wait, _ := l.begin("k")
					got += map[bool]string{true: "y", false: "n"}[wait == 0]
				case '-':
					l.end(true, "k")
					got += "."
				case '=':
					l.end(false, "k")
					l.forget("k")
					got += "."
				}
			}
			if got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestLimiterLockoutCapped: lockouts double up to MaxLockout, itself at
// most maxLockout, with no overflow however long the settings.
func TestLimiterLockoutCapped(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit LoginLimit
		want  []time.Duration // the wait after each lockout
	}{
		{"doubles to the maximum", LoginLimit{Failures: 1, Lockout: time.Minute, MaxLockout: 3 * time.Minute},
			[]time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 3 * time.Minute}},
		{"huge settings", LoginLimit{Failures: 1, Lockout: 1000 * time.Hour, MaxLockout: 100_000 * time.Hour},
			[]time.Duration{maxLockout, maxLockout}},
		{"long first lockout", LoginLimit{Failures: 1, Lockout: 10 * time.Hour},
			slices.Repeat([]time.Duration{time.Hour}, 71)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(tc.limit)
			clock := time.Now()
			l.now = func() time.Time { return clock }
			for i, want := range tc.want {
				if w, _ := l.begin("k"); w != 0 {
					t.Fatalf("lockout %d: refused for %v before it", i, w)
				}
				l.end(true, "k")
				if got, _ := l.begin("k"); got != want {
					t.Fatalf("lockout %d: wait %v, want %v", i, got, want)
				}
				clock = clock.Add(want)
			}
		})
	}
}

// TestLimiterBounded: the limiter tracks at most maxTracked keys. A full
// table makes room by forgetting keys that are not locked out; lockouts
// stay, and a table full of them refuses new keys (429).
func TestLimiterBounded(t *testing.T) {
	l := newLimiter(LoginLimit{Failures: 2})
	clock := time.Now()
	l.now = func() time.Time { return clock }
	fail := func(key string) {
		t.Helper()
		if w, _ := l.begin(key); w != 0 {
			t.Fatalf("key %s refused for %v", key, w)
		}
		l.end(true, key)
	}
	fail("locked")
	fail("locked")
	for i := range maxTracked - 1 {
		fail(strconv.Itoa(i))
	}
	if len(l.entries) != maxTracked {
		t.Fatalf("%d entries, want %d", len(l.entries), maxTracked)
	}
	fail("one more")
	if len(l.entries) > maxTracked || l.entries["one more"] == nil {
		t.Fatalf("%d entries, the new key tracked: %v", len(l.entries), l.entries["one more"] != nil)
	}
	if w, _ := l.begin("locked"); w == 0 {
		t.Fatal("a lockout was forgotten to make room")
	}

	// Full of lockouts: nothing to forget.
	l = newLimiter(LoginLimit{Failures: 1})
	l.now = func() time.Time { return clock }
	for i := range maxTracked {
		fail(strconv.Itoa(i))
	}
	if w, report := l.begin("new"); w == 0 || !report {
		t.Fatalf("a new key with the table full of lockouts: wait %v, reported %v", w, report)
	}
}

// TestLimiterReportsOnce: of the attempts a lockout refuses, the first is
// reported (to the audit log), not every one; the next lockout's first
// again.
func TestLimiterReportsOnce(t *testing.T) {
	l := newLimiter(LoginLimit{Failures: 1, Lockout: time.Minute})
	clock := time.Now()
	l.now = func() time.Time { return clock }
	got := ""
	for _, step := range "+-+++>+-++" {
		switch step {
		case '+':
			wait, report := l.begin("k")
			got += map[bool]string{true: "y", false: "n"}[wait == 0] + map[bool]string{true: "!", false: ""}[report]
		case '-':
			l.end(true, "k")
		case '>':
			clock = clock.Add(time.Hour)
		}
	}
	if want := "yn!nnyn!n"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestAddressKey(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7":            "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"::ffff:192.0.2.7":     "::ffff:192.0.2.7",
		"not an address":       "not an address",
	} {
		if got := addressKey(addr); got != want {
			t.Errorf("addressKey(%q) = %q, want %q", addr, got, want)
		}
	}
}

// TestSecretsNotCached: answers carrying a token or an API key's secret
// tell caches (proxies, browsers) never to keep them.
func TestSecretsNotCached(t *testing.T) {
	e := newEnv(t, envOptions{})
	refresh := e.login("viewer-user", testPassword).RefreshToken
	for _, tc := range []struct {
		method, path, token string
		body                any
		status              int
	}{
		{"POST", "/auth/token", "", client.TokenRequest{Username: "viewer-user", Password: testPassword}, 200},
		{"POST", "/auth/refresh", "", client.RefreshRequest{RefreshToken: refresh}, 200},
		{"POST", "/api-keys", e.tokens["admin"], client.APIKeyInput{Name: "erp", Role: "operator"}, 201},
	} {
		r := e.call(tc.method, tc.path, tc.token, tc.body).want(tc.status)
		if got := r.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s %s: Cache-Control %q, want no-store", tc.method, tc.path, got)
		}
	}
}
