package service

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
)

const testPassword = "correct horse battery"

func newUser(t *testing.T, s *Service, name, role string) *client.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), client.UserInput{Username: &name, Password: ptr(testPassword), Role: &role})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestLoginRefreshLogout(t *testing.T) {
	s := newService(t)
	ctx := WithActor(context.Background(), "", "192.0.2.1")
	newUser(t, s, "olga", "operator")

	_, err := s.Login(ctx, "olga", "wrong password")
	wantCode(t, err, as2gate.EUnauthorized, "")
	for _, name := range []string{"nobody", "cli", "system", strings.Repeat("x", 1000)} {
		_, err = s.Login(ctx, name, testPassword)
		wantCode(t, err, as2gate.EUnauthorized, "")
	}
	tok, err := s.Login(ctx, "olga", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.AccessToken, "as2t_") || !strings.HasPrefix(tok.RefreshToken, "as2r_") ||
		tok.ExpiresIn != int(DefaultAccessTTL/time.Second) || tok.Role != "operator" || tok.TokenType != "Bearer" {
		t.Fatalf("tokens %+v", tok)
	}
	p, err := s.Authenticate(ctx, tok.AccessToken)
	if err != nil || p.Kind != "user" || p.Name != "olga" || p.Role != "operator" {
		t.Fatalf("Authenticate: %+v, %v", p, err)
	}
	for _, bad := range []string{tok.RefreshToken, "as2t_nope", "", "Basic x", "as2t_" + strings.Repeat("x", 1000)} {
		_, err := s.Authenticate(ctx, bad)
		wantCode(t, err, as2gate.EUnauthorized, "")
	}

	// Refresh rotates: the new tokens work, the old refresh token is used up.
	tok2, err := s.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, tok2.AccessToken); err != nil {
		t.Fatal(err)
	}
	// Reuse of the old one revokes the whole family, the new tokens too.
	_, err = s.Refresh(ctx, tok.RefreshToken)
	wantCode(t, err, as2gate.EUnauthorized, "")
	for _, secret := range []string{tok.AccessToken, tok2.AccessToken} {
		_, err := s.Authenticate(ctx, secret)
		wantCode(t, err, as2gate.EUnauthorized, "")
	}
	_, err = s.Refresh(ctx, tok2.RefreshToken)
	wantCode(t, err, as2gate.EUnauthorized, "")

	// Logout ends the login of the access token, not the others.
	a, _ := s.Login(ctx, "olga", testPassword)
	b, _ := s.Login(ctx, "olga", testPassword)
	if err := s.Logout(ctx, a.AccessToken, ""); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, a.AccessToken)
	wantCode(t, err, as2gate.EUnauthorized, "")
	_, err = s.Refresh(ctx, a.RefreshToken)
	wantCode(t, err, as2gate.EUnauthorized, "")
	if _, err := s.Authenticate(ctx, b.AccessToken); err != nil {
		t.Fatalf("another login ended too: %v", err)
	}
	wantCode(t, s.Logout(ctx, b.AccessToken, a.AccessToken), as2gate.EInvalid, "refresh_token")

	entries, err := s.ListAudit(context.Background(), client.AuditFilter{Action: "auth.login"})
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]int{}
	for _, e := range entries.Items {
		results[e.Actor+" "+e.Result+" "+e.Remote]++
		if strings.Contains(e.Detail, testPassword) || strings.Contains(e.Target, testPassword) {
			t.Fatalf("the audit log holds the password: %+v", e)
		}
	}
	// Logins as users that do not exist name none, nor the CLI or system.
	if results["olga unauthorized 192.0.2.1"] != 1 || results[UnknownActor+" unauthorized 192.0.2.1"] != 4 ||
		results["olga ok 192.0.2.1"] != 3 || len(results) != 3 {
		t.Fatalf("login audit %v", results)
	}
}

func TestTokenExpiry(t *testing.T) {
	s := newService(t)
	clock := time.Now()
	s.now = func() time.Time { return clock }
	ctx := context.Background()
	newUser(t, s, "vic", "viewer")
	tok, err := s.Login(ctx, "vic", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(DefaultAccessTTL)
	_, err = s.Authenticate(ctx, tok.AccessToken)
	wantCode(t, err, as2gate.EUnauthorized, "")
	tok, err = s.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(DefaultRefreshTTL)
	_, err = s.Refresh(ctx, tok.RefreshToken)
	wantCode(t, err, as2gate.EUnauthorized, "")
}

// Two clients exchanging one refresh token at once: one wins, and the
// reuse revokes the family.
func TestConcurrentRefresh(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	newUser(t, s, "rita", "viewer")
	tok, err := s.Login(ctx, "rita", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.Refresh(ctx, tok.RefreshToken) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	if ok > 1 {
		t.Fatalf("%d exchanges of one refresh token succeeded", ok)
	}
}

func TestUsers(t *testing.T) {
	s := newService(t)
	ctx := WithActor(context.Background(), "root", "")
	admin := newUser(t, s, "root", "admin")
	for _, c := range []struct {
		name  string
		in    client.UserInput
		field string
		code  as2gate.Code
	}{
		{"no username", client.UserInput{Password: ptr(testPassword), Role: ptr("admin")}, "username", as2gate.EInvalid},
		{"bad username", client.UserInput{Username: ptr("a b"), Password: ptr(testPassword), Role: ptr("admin")}, "username", as2gate.EInvalid},
		{"no password", client.UserInput{Username: ptr("x"), Role: ptr("admin")}, "password", as2gate.EInvalid},
		{"short password", client.UserInput{Username: ptr("x"), Password: ptr("short"), Role: ptr("admin")}, "password", as2gate.EInvalid},
		{"no role", client.UserInput{Username: ptr("x"), Password: ptr(testPassword)}, "role", as2gate.EInvalid},
		{"bad role", client.UserInput{Username: ptr("x"), Password: ptr(testPassword), Role: ptr("god")}, "role", as2gate.EInvalid},
		{"duplicate", client.UserInput{Username: ptr("root"), Password: ptr(testPassword), Role: ptr("viewer")}, "", as2gate.EConflict},
		{"reserved cli", client.UserInput{Username: ptr("cli"), Password: ptr(testPassword), Role: ptr("admin")}, "username", as2gate.EInvalid},
		{"reserved System", client.UserInput{Username: ptr("System"), Password: ptr(testPassword), Role: ptr("admin")}, "username", as2gate.EInvalid},
	} {
		_, err := s.CreateUser(ctx, c.in)
		wantCode(t, err, c.code, c.field)
	}
	_, err := s.UpdateUser(ctx, admin.ID, client.UserInput{Username: ptr("CLI")})
	wantCode(t, err, as2gate.EInvalid, "username")
	// The last admin can be neither demoted nor deleted.
	_, err = s.UpdateUser(ctx, admin.ID, client.UserInput{Role: ptr("viewer")})
	wantCode(t, err, as2gate.EConflict, "")
	wantCode(t, s.DeleteUser(ctx, admin.ID), as2gate.EConflict, "")
	second := newUser(t, s, "second", "admin")
	if _, err := s.UpdateUser(ctx, admin.ID, client.UserInput{Role: ptr("viewer")}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteUser(ctx, second.ID), as2gate.EConflict, "")

	// A new password ends the user's logins.
	tok, err := s.Login(ctx, "root", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, admin.ID, client.UserInput{Password: ptr("another long password")}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, tok.AccessToken)
	wantCode(t, err, as2gate.EUnauthorized, "")
	if _, err := s.Login(ctx, "root", "another long password"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, admin.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetUser(ctx, admin.ID)
	wantCode(t, err, as2gate.ENotFound, "")
	list, err := s.ListUsers(ctx)
	if err != nil || len(list) != 1 || list[0].Username != "second" {
		t.Fatalf("users %+v, %v", list, err)
	}
}

func TestAPIKeys(t *testing.T) {
	s := newService(t)
	clock := time.Now()
	s.now = func() time.Time { return clock }
	ctx := WithActor(context.Background(), "root", "")
	_, err := s.CreateAPIKey(ctx, client.APIKeyInput{Name: "erp", Role: "root"})
	wantCode(t, err, as2gate.EInvalid, "role")
	_, err = s.CreateAPIKey(ctx, client.APIKeyInput{Role: "operator"})
	wantCode(t, err, as2gate.EInvalid, "name")
	k, err := s.CreateAPIKey(ctx, client.APIKeyInput{Name: "erp", Role: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.Secret, "as2k_") || len(k.Secret) != 5+43 || k.Prefix != k.Secret[:12] || k.CreatedBy != "root" {
		t.Fatalf("key %+v", k)
	}
	p, err := s.Authenticate(ctx, k.Secret)
	if err != nil || p.Kind != "api_key" || p.Role != "operator" || ActorName(p) != "api_key:erp" {
		t.Fatalf("Authenticate: %+v, %v", p, err)
	}
	lastUsed := func() time.Time {
		list, err := s.ListAPIKeys(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("keys %+v, %v", list, err)
		}
		if list[0].Secret != "" {
			t.Fatal("a listed key shows its secret")
		}
		return list[0].LastUsedAt
	}
	first := lastUsed()
	if !first.Equal(clock.Truncate(time.Millisecond)) {
		t.Fatalf("last used %v, want %v", first, clock)
	}
	clock = clock.Add(30 * time.Second) // within the minute: not written again
	s.Authenticate(ctx, k.Secret)
	if !lastUsed().Equal(first) {
		t.Fatal("last use written again within a minute")
	}
	clock = clock.Add(31 * time.Second)
	s.Authenticate(ctx, k.Secret)
	if !lastUsed().After(first) {
		t.Fatal("last use not written after a minute")
	}
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, k.Secret)
	wantCode(t, err, as2gate.EUnauthorized, "")
	wantCode(t, s.Logout(ctx, k.Secret, ""), as2gate.EInvalid, "")
}

// TestLastAdminConcurrent: two administrators taking the role from each
// other at once (demoted or deleted) leave one, whatever the interleaving.
func TestLastAdminConcurrent(t *testing.T) {
	s := newService(t)
	ctx := WithActor(context.Background(), "root", "")
	for _, tc := range []struct {
		name   string
		remove func(id string) error
	}{
		{"demote", func(id string) error {
			_, err := s.UpdateUser(ctx, id, client.UserInput{Role: ptr("viewer")})
			return err
		}},
		{"delete", func(id string) error { return s.DeleteUser(ctx, id) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for round := range 10 {
				admins := adminIDs(t, s)
				for len(admins) < 2 {
					newUser(t, s, fmt.Sprintf("admin-%s-%d-%d", tc.name, round, len(admins)), "admin")
					admins = adminIDs(t, s)
				}
				errs := make([]error, 2)
				var wg sync.WaitGroup
				for i, id := range admins {
					wg.Go(func() { errs[i] = tc.remove(id) })
				}
				wg.Wait()
				if n := len(adminIDs(t, s)); n != 1 {
					t.Fatalf("round %d: %d administrators left (errors %v), want 1", round, n, errs)
				}
			}
		})
	}
}

func adminIDs(t *testing.T, s *Service) []string {
	t.Helper()
	users, err := s.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range users {
		if u.Role == "admin" {
			ids = append(ids, u.ID)
		}
	}
	return ids
}

// TestConcurrentUserUpdates: updates of different fields at once keep
// both changes: a new password (slow to hash) and a new role.
func TestConcurrentUserUpdates(t *testing.T) {
	s := newService(t)
	ctx := WithActor(context.Background(), "root", "")
	u := newUser(t, s, "dora", "viewer")
	for round, role := range []string{"operator", "manager", "viewer"} {
		pw := fmt.Sprintf("new password %d", round)
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := s.UpdateUser(ctx, u.ID, client.UserInput{Password: &pw}); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := s.UpdateUser(ctx, u.ID, client.UserInput{Role: &role}); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		got, err := s.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Role != role {
			t.Fatalf("round %d: role %s, want %s: an update was lost", round, got.Role, role)
		}
		if _, err := s.Login(ctx, "dora", pw); err != nil {
			t.Fatalf("round %d: the new password was lost: %v", round, err)
		}
	}
}

// TestRefreshRacesLogout: a refresh at the same time as the end of its
// login never yields tokens that outlive it.
func TestRefreshRacesLogout(t *testing.T) {
	s := newService(t)
	ctx := WithActor(context.Background(), "", "192.0.2.1")
	newUser(t, s, "rita", "operator")
	for round := range 20 {
		tok, err := s.Login(ctx, "rita", testPassword)
		if err != nil {
			t.Fatal(err)
		}
		var next *client.Tokens
		var wg sync.WaitGroup
		wg.Go(func() { next, _ = s.Refresh(ctx, tok.RefreshToken) })
		wg.Go(func() {
			if err := s.Logout(ctx, tok.AccessToken, ""); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		if next == nil {
			continue
		}
		if _, err := s.Authenticate(ctx, next.AccessToken); err == nil {
			t.Fatalf("round %d: the access token of a refresh outlived the logout", round)
		}
		if _, err := s.Refresh(ctx, next.RefreshToken); err == nil {
			t.Fatalf("round %d: the refresh token of a refresh outlived the logout", round)
		}
	}
}
