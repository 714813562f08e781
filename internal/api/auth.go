package api

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
	"github.com/as2gate/as2gate/internal/service"
)

func (a *API) getOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Write(a.openapi)
	return nil
}

// login checks a username and password under the rate limit: too many
// failures for the username or from the client's address lock both out
// for a while (429 with Retry-After), whether the password is right or not.
// The attempt counts before the password is checked, so that parallel
// requests cannot all be checked before the first failure is recorded.
func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	var req client.TokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	// No user has such a name: refused before it takes room in the
	// limiter's table or in the audit log.
	if !service.IsUsername(req.Username) {
		return as2gate.Invalid("username", "no user has such a name: letters, digits and . _ @ -, at most 100")
	}
	// Case-folded, so that "Admin" and "admin" share one count.
	keys := []string{"user:" + strings.ToLower(req.Username), "addr:" + addressKey(remoteAddr(r))}
	if wait, report := a.limiter.begin(keys...); wait > 0 {
		err := as2gate.Errorf(as2gate.ERateLimited, "too many login attempts: try again in %d seconds", secondsUp(wait))
		if report {
			a.svc.AuditLogin(r.Context(), req.Username, err)
		}
		w.Header().Set("Retry-After", strconv.Itoa(secondsUp(wait)))
		return err
	}
	failed := false
	defer func() { a.limiter.end(failed, keys...) }() // also if the check panics
	tokens, err := a.svc.Login(r.Context(), req.Username, req.Password)
	failed = as2gate.ErrorCode(err) == as2gate.EUnauthorized
	if err != nil {
		return err
	}
	a.limiter.forget(keys[0])
	writeJSON(w, http.StatusOK, tokens)
	return nil
}

func secondsUp(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// addressKey is what login attempts from an address count against: the
// address itself, or for IPv6 its /64, which one client usually holds
// whole (and could otherwise spread its attempts over).
func addressKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil || !ip.Is6() || ip.Is4In6() {
		return addr
	}
	return netip.PrefixFrom(ip, 64).Masked().String()
}

func (a *API) refresh(w http.ResponseWriter, r *http.Request) error {
	var req client.RefreshRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	tokens, err := a.svc.Refresh(r.Context(), req.RefreshToken)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokens)
	return nil
}

// logout takes an optional body naming a refresh token to end as well.
func (a *API) logout(w http.ResponseWriter, r *http.Request) error {
	var req client.RefreshRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
	}
	_, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if err := a.svc.Logout(r.Context(), strings.TrimSpace(token), req.RefreshToken); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) me(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, principal(r))
	return nil
}
