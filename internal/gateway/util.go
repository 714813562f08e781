package gateway

import (
	"crypto"
	"net/url"
	"strings"

	"github.com/as2gate/as2gate/internal/cms"
)

// defaultDigest signs MDNs when the partner asked for no usable algorithm.
const defaultDigest = crypto.SHA256

func isSigningDigest(h crypto.Hash) bool {
	for _, d := range cms.SigningDigests {
		if d == h {
			return true
		}
	}
	return false
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// isHTTPURL accepts an absolute http or https URL of printable ASCII.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && len(s) <= 2048 && printableASCII(s) && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// sameHost tells whether two URLs name the same host (ports aside).
func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Hostname() != "" && strings.EqualFold(ua.Hostname(), ub.Hostname())
}
