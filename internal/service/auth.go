package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/password"
)

// Secrets are opaque random strings whose prefix says what they are, so
// that a leaked one is recognised and looked up in the right place.
const (
	accessPrefix  = "as2t_"
	refreshPrefix = "as2r_"
	keyPrefix     = "as2k_"
	// maxSecretLen bounds what is hashed and looked up; real secrets
	// are 48 characters.
	maxSecretLen = 100
	// keyShownLen is how much of an API key's secret is kept in clear
	// to recognise it: the prefix and 7 characters (42 bits) of it.
	keyShownLen = 12
	// touchEvery is how often the last use of an API key is written.
	touchEvery = time.Minute
)

// newSecret returns prefix and 32 random bytes in base64url.
func newSecret(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is what the store keeps of a secret. A fast hash is right:
// the secrets have 256 bits of entropy, nothing to guess.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// UnknownActor is the audit log's actor of a login as a user that does
// not exist: usernames have no parentheses, so it names no user (nor the
// CLI or the system, whose names no user may take).
const UnknownActor = "(unknown)"

var errBadLogin = as2gate.Errorf(as2gate.EUnauthorized, "wrong username or password")

// dummyHash is verified against for unknown users, so that a login takes
// as long whether the user exists or not.
var dummyHash = sync.OnceValue(func() string {
	h, _ := password.Hash(password.Generate())
	return h
})

// checkPassword verifies a password, at most len(s.hashing) at once.
func (s *Service) checkPassword(ctx context.Context, pw, hash string) (bool, error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.hashing }()
	ok, err := password.Verify(pw, hash)
	if err != nil {
		return false, as2gate.Wrap(as2gate.EInternal, err, "cannot check the password")
	}
	return ok, nil
}

// hashPassword hashes a new password, at most len(s.hashing) at once.
func (s *Service) hashPassword(ctx context.Context, pw string) (string, error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.hashing }()
	h, err := password.Hash(pw)
	if err != nil {
		return "", as2gate.Wrap(as2gate.EInternal, err, "cannot hash the password")
	}
	return h, nil
}

// Login checks a user's name and password and returns a new login's
// tokens. Every attempt is recorded in the audit log, never the password.
func (s *Service) Login(ctx context.Context, username, pw string) (_ *client.Tokens, err error) {
	actor := UnknownActor
	defer func() { s.auditLogin(ctx, actor, username, err) }()
	u, err := s.userNamed(ctx, username)
	switch {
	case as2gate.ErrorCode(err) == as2gate.ENotFound:
		s.checkPassword(ctx, pw, dummyHash())
		return nil, errBadLogin
	case err != nil:
		return nil, err
	}
	actor = u.Username
	ok, err := s.checkPassword(ctx, pw, u.PasswordHash)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errBadLogin
	}
	// Tokens of logins long gone serve nothing: clear them now and then.
	if err := s.gw.Store().DeleteExpiredTokens(ctx, s.now()); err != nil {
		s.log.Warn("cannot delete expired tokens", "error", err)
	}
	tokens, stored := s.mint(u, as2gate.NewID())
	if err := s.gw.Store().CreateLogin(ctx, u.PasswordHash, stored...); err != nil {
		if as2gate.ErrorCode(err) == as2gate.EUnauthorized {
			return nil, errBadLogin // the password changed meanwhile
		}
		return nil, err
	}
	return tokens, nil
}

// AuditLogin records a login attempt refused before its password was
// checked (rate-limited): by the user it names, when there is one.
func (s *Service) AuditLogin(ctx context.Context, username string, err error) {
	actor := UnknownActor
	if u, uerr := s.userNamed(ctx, username); uerr == nil {
		actor = u.Username
	}
	s.auditLogin(ctx, actor, username, err)
}

func (s *Service) auditLogin(ctx context.Context, actor, username string, err error) {
	s.appendAudit(ctx, &as2gate.AuditEntry{Actor: actor, Action: "auth.login", Target: username, Remote: actorOf(ctx).remote}, err)
}

// userNamed is the user of a login's name; ENotFound for a name no user
// can have, without asking the store.
func (s *Service) userNamed(ctx context.Context, username string) (*as2gate.User, error) {
	if !IsUsername(username) {
		return nil, as2gate.Errorf(as2gate.ENotFound, "no user %q", username)
	}
	return s.gw.Store().GetUserByName(ctx, username)
}

// mint makes a new access and refresh token of a login's family: the
// secrets for the client, and what the store is to keep of them.
func (s *Service) mint(u *as2gate.User, family string) (*client.Tokens, []*as2gate.Token) {
	now := s.now().UTC()
	access, refresh := newSecret(accessPrefix), newSecret(refreshPrefix)
	return &client.Tokens{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(s.accessTTL / time.Second),
			RefreshToken: refresh, RefreshExpiresIn: int(s.refreshTTL / time.Second), Role: string(u.Role)},
		[]*as2gate.Token{
			{Hash: hashSecret(access), Kind: as2gate.TokenAccess, UserID: u.ID, FamilyID: family, ExpiresAt: now.Add(s.accessTTL), CreatedAt: now},
			{Hash: hashSecret(refresh), Kind: as2gate.TokenRefresh, UserID: u.ID, FamilyID: family, ExpiresAt: now.Add(s.refreshTTL), CreatedAt: now},
		}
}

// lookupToken finds a token of a kind by its secret; EUnauthorized when
// there is none, or it is revoked or expired (the token is returned then
// too, for the audit log to name its user).
func (s *Service) lookupToken(ctx context.Context, secret string, kind as2gate.TokenKind) (*as2gate.Token, error) {
	what := "access token"
	if kind == as2gate.TokenRefresh {
		what = "refresh token"
	}
	if len(secret) > maxSecretLen {
		return nil, as2gate.Errorf(as2gate.EUnauthorized, "invalid %s", what)
	}
	t, err := s.gw.Store().GetTokenByHash(ctx, hashSecret(secret))
	switch {
	case as2gate.ErrorCode(err) == as2gate.ENotFound:
		return nil, as2gate.Errorf(as2gate.EUnauthorized, "invalid %s", what)
	case err != nil:
		return nil, err
	case t.Kind != kind:
		return nil, as2gate.Errorf(as2gate.EUnauthorized, "invalid %s", what)
	case !t.RevokedAt.IsZero():
		return t, as2gate.Errorf(as2gate.EUnauthorized, "%s revoked", what)
	case !s.now().Before(t.ExpiresAt):
		return t, as2gate.Errorf(as2gate.EUnauthorized, "%s expired", what)
	}
	return t, nil
}

// Refresh exchanges a refresh token for new tokens of the same login. The
// refresh token is used up: presented again (it was stolen, or the client
// is confused), it revokes every token of its login. Failures are recorded
// in the audit log; successes, routine, are not.
func (s *Service) Refresh(ctx context.Context, refresh string) (_ *client.Tokens, err error) {
	var user string
	defer func() {
		if err != nil {
			s.appendAudit(ctx, &as2gate.AuditEntry{Actor: user, Action: "auth.refresh", Target: user, Remote: actorOf(ctx).remote}, err)
		}
	}()
	t, err := s.lookupToken(ctx, refresh, as2gate.TokenRefresh)
	if t == nil {
		return nil, err
	}
	u, uerr := s.gw.Store().GetUser(ctx, t.UserID)
	if uerr != nil {
		return nil, uerr
	}
	user = u.Username
	if err != nil {
		return nil, err
	}
	tokens, stored := s.mint(u, t.FamilyID)
	// The exchange and the new tokens are one step in the store: a
	// logout or password change at the same time cannot leave them valid.
	err = s.gw.Store().RotateToken(ctx, t.ID, s.now(), stored...)
	if as2gate.ErrorCode(err) == as2gate.EConflict {
		if err := s.gw.Store().RevokeTokenFamily(ctx, t.FamilyID, s.now()); err != nil {
			return nil, err
		}
		return nil, as2gate.Errorf(as2gate.EUnauthorized, "refresh token used already: every token of this login is revoked; log in again")
	}
	if err != nil {
		return nil, err
	}
	return tokens, nil
}

// Logout ends the login of an access token, and of a refresh token when
// one is given (it must be the same user's).
func (s *Service) Logout(ctx context.Context, access, refresh string) (err error) {
	target := ""
	defer s.record(ctx, "auth.logout", &target, &err)
	if strings.HasPrefix(access, keyPrefix) {
		return as2gate.Errorf(as2gate.EInvalid, "an API key is revoked, not logged out")
	}
	t, err := s.lookupToken(ctx, access, as2gate.TokenAccess)
	if err != nil {
		return err
	}
	target = t.UserID
	families := []string{t.FamilyID}
	if refresh != "" {
		r, err := s.gw.Store().GetTokenByHash(ctx, hashSecret(refresh))
		if err != nil || r.Kind != as2gate.TokenRefresh || r.UserID != t.UserID || len(refresh) > maxSecretLen {
			return as2gate.Invalid("refresh_token", "not a refresh token of this user")
		}
		families = append(families, r.FamilyID)
	}
	for _, f := range families {
		if err := s.gw.Store().RevokeTokenFamily(ctx, f, s.now()); err != nil {
			return err
		}
	}
	return nil
}

// Authenticate returns who a bearer secret (an access token or an API
// key) stands for; EUnauthorized when it stands for nobody.
func (s *Service) Authenticate(ctx context.Context, bearer string) (*client.Principal, error) {
	switch {
	case strings.HasPrefix(bearer, accessPrefix):
		t, err := s.lookupToken(ctx, bearer, as2gate.TokenAccess)
		if err != nil {
			return nil, err
		}
		u, err := s.gw.Store().GetUser(ctx, t.UserID)
		if as2gate.ErrorCode(err) == as2gate.ENotFound {
			return nil, as2gate.Errorf(as2gate.EUnauthorized, "the user of this token no longer exists")
		}
		if err != nil {
			return nil, err
		}
		return &client.Principal{Kind: "user", ID: u.ID, Name: u.Username, Role: string(u.Role), Username: u.Username}, nil
	case strings.HasPrefix(bearer, keyPrefix) && len(bearer) <= maxSecretLen:
		k, err := s.gw.Store().GetAPIKeyByHash(ctx, hashSecret(bearer))
		switch {
		case as2gate.ErrorCode(err) == as2gate.ENotFound:
			return nil, as2gate.Errorf(as2gate.EUnauthorized, "invalid API key")
		case err != nil:
			return nil, err
		case !k.RevokedAt.IsZero():
			return nil, as2gate.Errorf(as2gate.EUnauthorized, "API key revoked")
		}
		if now := s.now(); now.Sub(k.LastUsedAt) >= touchEvery {
			// At most once a minute: a busy machine must not make
			// every request a write.
			if err := s.gw.Store().TouchAPIKey(ctx, k.ID, now); err != nil {
				s.log.Warn("cannot record the use of an API key", "key", k.ID, "error", err)
			}
		}
		return &client.Principal{Kind: "api_key", ID: k.ID, Name: k.Name, Role: string(k.Role)}, nil
	}
	return nil, as2gate.Errorf(as2gate.EUnauthorized, "not an access token or API key")
}

// ActorName is how the audit log names a principal.
func ActorName(p *client.Principal) string {
	if p.Kind == "api_key" {
		return "api_key:" + p.Name
	}
	return p.Name
}
