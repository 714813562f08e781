// Package redact hides the secrets of values before they are printed or
// logged.
package redact

import (
	"net/url"
	"strings"
)

// URL hides the secrets of a URL before it is printed or logged:
// the password of its user, and the values of the query parameters whose
// names speak of a password, secret or token (PostgreSQL's password and
// sslpassword, an S3 endpoint's X-Amz-Security-Token...). It parses as
// the drivers do, so that a password with an @ or a ? in it is found
// where they find it.
func URL(s string) string {
	if !strings.Contains(s, "://") {
		return s // a path, as in sqlite:PATH: no user, no parameters
	}
	u, err := url.Parse(s)
	if err != nil {
		return notValid // where its secrets are cannot be told
	}
	if u.User == nil && hasPort(u.Host) && atOutsideValues(u) {
		// "https://user:2024/x@host/": a password of digits (up to a /,
		// ? or #) reads as a port, and the @ that ends it lands in the
		// path, the query or the fragment. Net/http and drivers split it
		// the same way, but a log line must not guess.
		return notValid
	}
	redacted := false
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
		redacted = true
	}
	if u.RawQuery != "" {
		// Rewritten in place, not through url.Values, which would reorder them.
		params := strings.Split(u.RawQuery, "&")
		for i, p := range params {
			k, _, _ := strings.Cut(p, "=")
			if name, err := url.QueryUnescape(k); err != nil || isSecretParam(name) {
				params[i], redacted = k+"=xxxxx", true
			}
		}
		u.RawQuery = strings.Join(params, "&")
	}
	if !redacted {
		return s // as given, not as net/url would escape it
	}
	return u.String()
}

// notValid stands for a URL whose secrets cannot be told apart.
const notValid = "xxxxx (not a valid URL)"

// hasPort tells a host with a port part (maybe empty), not counting the
// colons of an IPv6 literal.
func hasPort(host string) bool {
	return strings.LastIndexByte(host, ':') > strings.LastIndexByte(host, ']')
}

// atOutsideValues tells an @ in the path, the fragment or the name of a
// query parameter: where a user's password would have ended. An @ in a
// parameter's value (application_name=me@host) is ordinary.
func atOutsideValues(u *url.URL) bool {
	if strings.Contains(u.Path, "@") || strings.Contains(u.Fragment, "@") {
		return true
	}
	for p := range strings.SplitSeq(u.RawQuery, "&") {
		if name, _, _ := strings.Cut(p, "="); strings.Contains(name, "@") {
			return true
		}
	}
	return false
}

// isSecretParam reports a query parameter that holds a credential: pass,
// password, sslpassword, secret, client_secret, token, access_token...
func isSecretParam(name string) bool {
	name = strings.ToLower(name)
	return strings.Contains(name, "pass") || strings.Contains(name, "secret") || strings.Contains(name, "token")
}
