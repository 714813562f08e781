package sqlstore

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/as2gate/as2gate"
)

func TestTokens(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := &as2gate.User{Username: "bob", PasswordHash: "x", Role: as2gate.RoleOperator}
		must(t, s.CreateUser(ctx, u))
		got, err := s.GetUser(ctx, u.ID)
		must(t, err)
		if !reflect.DeepEqual(got, u) {
			t.Fatalf("GetUser: %+v, want %+v", got, u)
		}
		_, err = s.GetUser(ctx, "missing")
		wantCode(t, err, as2gate.ENotFound, "user missing not found")

		expires := stored(time.Now().Add(time.Hour))
		access := &as2gate.Token{Hash: "h-access", Kind: as2gate.TokenAccess, UserID: u.ID, FamilyID: "fam1", ExpiresAt: expires}
		refresh := &as2gate.Token{Hash: "h-refresh", Kind: as2gate.TokenRefresh, UserID: u.ID, FamilyID: "fam1", ExpiresAt: expires}
		other := &as2gate.Token{Hash: "h-other", Kind: as2gate.TokenAccess, UserID: u.ID, FamilyID: "fam2", ExpiresAt: expires}
		must(t, s.CreateLogin(ctx, "x", access, refresh))
		must(t, s.CreateLogin(ctx, "x", other))
		got2, err := s.GetTokenByHash(ctx, "h-refresh")
		must(t, err)
		if !reflect.DeepEqual(got2, refresh) {
			t.Fatalf("GetTokenByHash: %+v, want %+v", got2, refresh)
		}
		_, err = s.GetTokenByHash(ctx, "nope")
		wantCode(t, err, as2gate.ENotFound, "token not found")
		wantCode(t, s.CreateLogin(ctx, "x", &as2gate.Token{Hash: "h-x", Kind: as2gate.TokenAccess, UserID: "gone", FamilyID: "f"}),
			as2gate.ENotFound, "user gone not found")
		// A login checked against a password that has changed since.
		wantCode(t, s.CreateLogin(ctx, "stale", &as2gate.Token{Hash: "h-stale", Kind: as2gate.TokenAccess, UserID: u.ID, FamilyID: "f"}),
			as2gate.EUnauthorized, "password changed")
		_, err = s.GetTokenByHash(ctx, "h-stale")
		wantCode(t, err, as2gate.ENotFound, "token not found")

		// A refresh token is exchanged once for the next ones: the second
		// exchange conflicts and stores nothing.
		at := stored(time.Now())
		next := &as2gate.Token{Hash: "h-next", Kind: as2gate.TokenRefresh, UserID: u.ID, FamilyID: "fam1", ExpiresAt: expires}
		must(t, s.RotateToken(ctx, refresh.ID, at, next))
		got2, _ = s.GetTokenByHash(ctx, "h-refresh")
		if !got2.UsedAt.Equal(at) {
			t.Fatalf("used at %v, want %v", got2.UsedAt, at)
		}
		if got, err := s.GetTokenByHash(ctx, "h-next"); err != nil || !reflect.DeepEqual(got, next) {
			t.Fatalf("the next token: %+v, %v; want %+v", got, err, next)
		}
		again := &as2gate.Token{Hash: "h-again", Kind: as2gate.TokenRefresh, UserID: u.ID, FamilyID: "fam1", ExpiresAt: expires}
		wantCode(t, s.RotateToken(ctx, refresh.ID, at, again), as2gate.EConflict, "used already")
		_, err = s.GetTokenByHash(ctx, "h-again")
		wantCode(t, err, as2gate.ENotFound, "token not found")

		// Revoking a family leaves the other families alone.
		must(t, s.RevokeTokenFamily(ctx, "fam1", at))
		for hash, revoked := range map[string]bool{"h-access": true, "h-refresh": true, "h-other": false} {
			tok, err := s.GetTokenByHash(ctx, hash)
			must(t, err)
			if tok.RevokedAt.IsZero() == revoked {
				t.Errorf("%s: revoked at %v, want revoked %v", hash, tok.RevokedAt, revoked)
			}
		}
		// A new password ends every login; another change does not.
		name := "bobby"
		_, err = s.UpdateUser(ctx, u.ID, as2gate.UserChange{Username: &name})
		must(t, err)
		if tok, _ := s.GetTokenByHash(ctx, "h-other"); !tok.RevokedAt.IsZero() {
			t.Error("a new name revoked a token")
		}
		hash := "y"
		_, err = s.UpdateUser(ctx, u.ID, as2gate.UserChange{PasswordHash: &hash})
		must(t, err)
		if tok, _ := s.GetTokenByHash(ctx, "h-other"); tok.RevokedAt.IsZero() {
			t.Error("a new password left a token")
		}

		old := &as2gate.Token{Hash: "h-old", Kind: as2gate.TokenAccess, UserID: u.ID, FamilyID: "f3", ExpiresAt: stored(time.Now().Add(-time.Hour))}
		must(t, s.CreateLogin(ctx, "y", old))
		must(t, s.DeleteExpiredTokens(ctx, time.Now()))
		_, err = s.GetTokenByHash(ctx, "h-old")
		wantCode(t, err, as2gate.ENotFound, "token not found")
		if _, err := s.GetTokenByHash(ctx, "h-access"); err != nil {
			t.Fatalf("an unexpired token was deleted: %v", err)
		}

		// Deleting the user deletes its tokens.
		must(t, s.DeleteUser(ctx, u.ID))
		_, err = s.GetTokenByHash(ctx, "h-access")
		wantCode(t, err, as2gate.ENotFound, "token not found")
	})
}

// TestRotateRevoked: a refresh token whose login is revoked, itself or
// another token of its family, is not exchanged, and nothing is stored.
func TestRotateRevoked(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := &as2gate.User{Username: "bob", PasswordHash: "x", Role: as2gate.RoleOperator}
		must(t, s.CreateUser(ctx, u))
		expires, at := stored(time.Now().Add(time.Hour)), stored(time.Now())
		for _, tc := range []struct {
			name   string
			revoke string // the kind of the family's token revoked
		}{
			{"the refresh token", "refresh"},
			{"another token of the login", "access"},
		} {
			family := "fam-" + tc.revoke
			refresh := &as2gate.Token{Hash: family + "-r", Kind: as2gate.TokenRefresh, UserID: u.ID, FamilyID: family, ExpiresAt: expires}
			access := &as2gate.Token{Hash: family + "-a", Kind: as2gate.TokenAccess, UserID: u.ID, FamilyID: family, ExpiresAt: expires}
			if tc.revoke == "refresh" {
				refresh.RevokedAt = at
			} else {
				access.RevokedAt = at
			}
			must(t, s.CreateLogin(ctx, "x", refresh, access))
			next := &as2gate.Token{Hash: family + "-next", Kind: as2gate.TokenAccess, UserID: u.ID, FamilyID: family, ExpiresAt: expires}
			wantCode(t, s.RotateToken(ctx, refresh.ID, at, next), as2gate.EUnauthorized, "revoked")
			_, err := s.GetTokenByHash(ctx, next.Hash)
			wantCode(t, err, as2gate.ENotFound, "token not found")
		}
	})
}

// TestRotateRacesRevoke: an exchange at the same time as the revocation of
// its login (by family or by user) either fails or has its new tokens
// revoked too.
func TestRotateRacesRevoke(t *testing.T) {
	for _, tc := range []struct {
		name   string
		revoke func(s *Store, tok *as2gate.Token) error
	}{
		{"family", func(s *Store, tok *as2gate.Token) error {
			return s.RevokeTokenFamily(t.Context(), tok.FamilyID, time.Now())
		}},
		{"user", func(s *Store, tok *as2gate.Token) error {
			hash := "x" // the same again: a password set ends the logins all the same
			_, err := s.UpdateUser(t.Context(), tok.UserID, as2gate.UserChange{PasswordHash: &hash})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, s *Store) {
				ctx := t.Context()
				u := &as2gate.User{Username: "bob", PasswordHash: "x", Role: as2gate.RoleOperator}
				must(t, s.CreateUser(ctx, u))
				expires := stored(time.Now().Add(time.Hour))
				for round := range 30 {
					family := fmt.Sprintf("fam%d", round)
					refresh := &as2gate.Token{Hash: family + "-r", Kind: as2gate.TokenRefresh, UserID: u.ID, FamilyID: family, ExpiresAt: expires}
					must(t, s.CreateLogin(ctx, "x", refresh))
					next := &as2gate.Token{Hash: family + "-next", Kind: as2gate.TokenRefresh, UserID: u.ID, FamilyID: family, ExpiresAt: expires}
					var rotated, revoked error
					var wg sync.WaitGroup
					wg.Go(func() { rotated = s.RotateToken(ctx, refresh.ID, time.Now(), next) })
					wg.Go(func() { revoked = tc.revoke(s, refresh) })
					wg.Wait()
					must(t, revoked)
					if rotated != nil {
						wantCode(t, rotated, as2gate.EUnauthorized, "revoked")
						continue
					}
					if got, err := s.GetTokenByHash(ctx, next.Hash); err != nil || got.RevokedAt.IsZero() {
						t.Fatalf("round %d: the token of an exchange outlived the revocation: %+v, %v", round, got, err)
					}
				}
			})
		})
	}
}

// TestLoginRacesPasswordChange: a login checked against the old password
// at the same time as a new one is set either fails or has its tokens
// revoked with the others.
func TestLoginRacesPasswordChange(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		u := &as2gate.User{Username: "bob", PasswordHash: "h0", Role: as2gate.RoleOperator}
		must(t, s.CreateUser(ctx, u))
		expires := stored(time.Now().Add(time.Hour))
		for round := range 30 {
			old, next := fmt.Sprintf("h%d", round), fmt.Sprintf("h%d", round+1)
			tok := &as2gate.Token{Hash: fmt.Sprintf("login%d", round), Kind: as2gate.TokenAccess, UserID: u.ID, FamilyID: fmt.Sprintf("f%d", round), ExpiresAt: expires}
			var login, change error
			var wg sync.WaitGroup
			wg.Go(func() { login = s.CreateLogin(ctx, old, tok) })
			wg.Go(func() { _, change = s.UpdateUser(ctx, u.ID, as2gate.UserChange{PasswordHash: &next}) })
			wg.Wait()
			must(t, change)
			if login != nil {
				wantCode(t, login, as2gate.EUnauthorized, "password changed")
				continue
			}
			if got, err := s.GetTokenByHash(ctx, tok.Hash); err != nil || got.RevokedAt.IsZero() {
				t.Fatalf("round %d: a login with the old password outlived the new one: %+v, %v", round, got, err)
			}
		}
	})
}

func TestAPIKeys(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		k1 := &as2gate.APIKey{Name: "erp", Role: as2gate.RoleOperator, Hash: "hash1", Prefix: "as2k_abcdefg", CreatedBy: "admin"}
		k2 := &as2gate.APIKey{Name: "stock", Role: as2gate.RoleViewer, Hash: "hash2", Prefix: "as2k_hijklmn", CreatedBy: "cli"}
		must(t, s.CreateAPIKey(ctx, k1))
		must(t, s.CreateAPIKey(ctx, k2))
		got, err := s.GetAPIKeyByHash(ctx, "hash2")
		must(t, err)
		if !reflect.DeepEqual(got, k2) {
			t.Fatalf("GetAPIKeyByHash: %+v, want %+v", got, k2)
		}
		_, err = s.GetAPIKeyByHash(ctx, "nope")
		wantCode(t, err, as2gate.ENotFound, "API key not found")
		wantCode(t, s.CreateAPIKey(ctx, &as2gate.APIKey{Name: "dup", Hash: "hash1"}), as2gate.EInternal, "cannot save API key")

		at := stored(time.Now())
		must(t, s.TouchAPIKey(ctx, k1.ID, at))
		must(t, s.RevokeAPIKey(ctx, k1.ID, at))
		must(t, s.RevokeAPIKey(ctx, k1.ID, at.Add(time.Hour))) // keeps the first time
		k1.LastUsedAt, k1.RevokedAt = at, at
		got, err = s.GetAPIKey(ctx, k1.ID)
		must(t, err)
		if !reflect.DeepEqual(got, k1) {
			t.Fatalf("after touch and revoke: %+v, want %+v", got, k1)
		}
		list, err := s.ListAPIKeys(ctx)
		must(t, err)
		if !reflect.DeepEqual(list, []*as2gate.APIKey{k1, k2}) {
			t.Fatalf("ListAPIKeys: %+v", list)
		}
		wantCode(t, s.RevokeAPIKey(ctx, "missing", at), as2gate.ENotFound, "API key missing not found")
		wantCode(t, s.TouchAPIKey(ctx, "missing", at), as2gate.ENotFound, "API key missing not found")
		_, err = s.GetAPIKey(ctx, "missing")
		wantCode(t, err, as2gate.ENotFound, "API key missing not found")
	})
}

func TestAudit(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		base := stored(time.Now().Add(-time.Hour))
		var all []*as2gate.AuditEntry
		for i, e := range []struct{ actor, action string }{
			{"alice", "partner.create"}, {"bob", "message.send"}, {"alice", "partner.update"}, {"cli", "message.send"},
		} {
			entry := &as2gate.AuditEntry{At: base.Add(time.Duration(i) * time.Minute), Actor: e.actor, Action: e.action,
				Target: "t", Remote: "127.0.0.1", Result: "ok", Detail: "d"}
			must(t, s.AppendAudit(ctx, entry))
			all = append([]*as2gate.AuditEntry{entry}, all...) // newest first
			time.Sleep(2 * time.Millisecond)                   // IDs sort by creation time
		}
		for _, c := range []struct {
			name string
			f    as2gate.AuditFilter
			want []*as2gate.AuditEntry
		}{
			{"all", as2gate.AuditFilter{}, all},
			{"actor", as2gate.AuditFilter{Actor: "alice"}, []*as2gate.AuditEntry{all[1], all[3]}},
			{"action", as2gate.AuditFilter{Action: "message.send"}, []*as2gate.AuditEntry{all[0], all[2]}},
			{"since", as2gate.AuditFilter{Since: base.Add(2 * time.Minute)}, all[:2]},
			{"until", as2gate.AuditFilter{Until: base.Add(time.Minute)}, all[3:]},
			{"page", as2gate.AuditFilter{Limit: 2}, all[:2]},
			{"after", as2gate.AuditFilter{After: all[1].ID}, all[2:]},
		} {
			got, err := s.ListAudit(ctx, c.f)
			must(t, err)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: got %+v\nwant %+v", c.name, got, c.want)
			}
		}
	})
}

func TestMessageReadState(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		w := newWorld(t, s)
		a := message(w.station, w.partner, as2gate.Inbound, as2gate.StatusReceived, "<a@them>")
		b := message(w.station, w.partner, as2gate.Inbound, as2gate.StatusReceived, "<b@them>")
		must(t, s.CreateMessage(ctx, a))
		must(t, s.CreateMessage(ctx, b))
		// Outbound messages are neither read nor unread.
		must(t, s.CreateMessage(ctx, message(w.station, w.partner, as2gate.Outbound, as2gate.StatusSent, "<c@us>")))
		at := stored(time.Now())
		must(t, s.SetMessageRead(ctx, a.ID, at))
		got, err := s.GetMessage(ctx, a.ID)
		must(t, err)
		if !got.ReadAt.Equal(at) || got.Version != a.Version {
			t.Fatalf("read at %v version %d; want %v, version unchanged %d", got.ReadAt, got.Version, at, a.Version)
		}
		// An update from a copy read before does not undo it.
		a.Subject = "changed"
		must(t, s.UpdateMessage(ctx, a, as2gate.JobChange{}))
		got, _ = s.GetMessage(ctx, a.ID)
		if !got.ReadAt.Equal(at) {
			t.Fatalf("UpdateMessage reset the read time to %v", got.ReadAt)
		}
		yes, no := true, false
		for _, c := range []struct {
			read *bool
			want string
		}{{&yes, a.ID}, {&no, b.ID}} {
			list, err := s.ListMessages(ctx, as2gate.MessageFilter{Read: c.read})
			must(t, err)
			if len(list) != 1 || list[0].ID != c.want {
				t.Errorf("read=%v: got %d messages, want %s", *c.read, len(list), c.want)
			}
		}
		must(t, s.SetMessageRead(ctx, a.ID, time.Time{}))
		got, _ = s.GetMessage(ctx, a.ID)
		if !got.ReadAt.IsZero() {
			t.Fatalf("unread: read at %v", got.ReadAt)
		}
		wantCode(t, s.SetMessageRead(ctx, "missing", at), as2gate.ENotFound, "message missing not found")
	})
}

func TestDeleteMessage(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		w := newWorld(t, s)
		queued := message(w.station, w.partner, as2gate.Outbound, as2gate.StatusQueued, "<q@us>")
		queued.Files = []as2gate.File{{Name: "a.edi", Key: "k/a"}}
		must(t, s.CreateMessage(ctx, queued, as2gate.Job{Kind: as2gate.JobSend, RunAt: time.Now()}))
		sending := message(w.station, w.partner, as2gate.Outbound, as2gate.StatusSending, "<s@us>")
		must(t, s.CreateMessage(ctx, sending, as2gate.Job{Kind: as2gate.JobSend, RunAt: time.Now()}))

		_, err := s.DeleteMessage(ctx, sending.ID)
		wantCode(t, err, as2gate.EConflict, "is being sent")
		if _, err := s.GetMessage(ctx, sending.ID); err != nil {
			t.Fatalf("the message being sent is gone: %v", err)
		}

		gone, err := s.DeleteMessage(ctx, queued.ID)
		must(t, err)
		if gone.ID != queued.ID || !reflect.DeepEqual(gone.Files, queued.Files) {
			t.Fatalf("DeleteMessage returned %+v", gone)
		}
		_, err = s.GetMessage(ctx, queued.ID)
		wantCode(t, err, as2gate.ENotFound, "not found")
		jobs, err := s.ListJobs(ctx, queued.ID)
		must(t, err)
		if len(jobs) != 0 {
			t.Fatalf("the jobs of a deleted message remain: %+v", jobs)
		}
		// Its send job is gone: no worker claims it.
		job, err := s.ClaimJob(ctx, "w", time.Now().Add(time.Minute), time.Minute)
		must(t, err)
		if job != nil && job.MessageID == queued.ID {
			t.Fatal("the send job of a deleted message was claimed")
		}
		_, err = s.DeleteMessage(ctx, queued.ID)
		wantCode(t, err, as2gate.ENotFound, "not found")
	})
}

// TestTypedNamesAreSafe: what someone types at the login (any bytes) is
// looked up and audited on PostgreSQL as on SQLite, not refused with a 500.
func TestTypedNamesAreSafe(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		for _, name := range []string{"a\x00b", "caf\xe9"} {
			_, err := s.GetUserByName(ctx, name)
			wantCode(t, err, as2gate.ENotFound, "not found")
			e := &as2gate.AuditEntry{Actor: "(unknown)", Action: "auth.login", Target: name, Result: "denied"}
			must(t, s.AppendAudit(ctx, e))
			got, err := s.ListAudit(ctx, as2gate.AuditFilter{Action: "auth.login"})
			must(t, err)
			if len(got) == 0 || got[0].Target != e.Target || !utf8.ValidString(got[0].Target) || strings.ContainsRune(got[0].Target, 0) {
				t.Fatalf("audited %+v, want target %q", got, e.Target)
			}
		}
	})
}
