// Package as2 builds and reads AS2 messages (RFC 4130) and their receipts
// (MDNs, RFC 8098) on top of internal/cms and internal/mime, streaming: a
// message of any size passes through in constant memory.
package as2

import (
	"crypto"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/as2gate/as2gate/internal/cms"
)

// MIC is a Message Integrity Check: the digest of what was sent, which the
// receiver returns in the MDN's Received-Content-MIC (RFC 4130 §7.3.1).
type MIC struct {
	Digest []byte
	Alg    crypto.Hash
	// AlgName is the spelling written after the comma; when empty the
	// canonical name (sha-256, sha1, md5 ...) is used.
	AlgName string
}

// String formats the MIC as "base64, alg".
func (m MIC) String() string {
	if m.Alg == 0 {
		return ""
	}
	name := m.AlgName
	if name == "" {
		name = MICAlgName(m.Alg)
	}
	return base64.StdEncoding.EncodeToString(m.Digest) + ", " + name
}

// Equal compares digest and algorithm, not the spelling.
func (m MIC) Equal(o MIC) bool {
	return m.Alg == o.Alg && len(m.Digest) > 0 && subtle.ConstantTimeCompare(m.Digest, o.Digest) == 1
}

// ParseMIC reads "base64, alg" as products write it: with or without the
// space, sha256/sha-256/SHA256, and a missing algorithm meaning SHA-1.
func ParseMIC(s string) (MIC, error) {
	digest, alg, found := strings.Cut(s, ",")
	digest = strings.TrimSpace(digest)
	alg = strings.TrimSpace(alg)
	m := MIC{Alg: crypto.SHA1, AlgName: alg}
	if found {
		h, err := cms.ParseDigest(alg)
		if err != nil {
			return MIC{}, fmt.Errorf("as2: MIC algorithm %q: %w", alg, err)
		}
		m.Alg = h
	}
	d, err := base64.StdEncoding.DecodeString(digest)
	if err != nil {
		if d, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(digest, "=")); err != nil {
			return MIC{}, fmt.Errorf("as2: MIC %q is not base64", digest)
		}
	}
	if len(d) != m.Alg.Size() {
		return MIC{}, fmt.Errorf("as2: MIC of %d bytes for %s", len(d), cms.DigestName(m.Alg))
	}
	m.Digest = d
	return m, nil
}

// MICAlgName is the canonical micalg spelling (RFC 5751 §3.4.3.2): sha1,
// sha-224, sha-256, sha-384, sha-512, md5.
func MICAlgName(h crypto.Hash) string {
	switch h {
	case crypto.MD5:
		return "md5"
	case crypto.SHA1:
		return "sha1"
	case crypto.SHA224:
		return "sha-224"
	case crypto.SHA256:
		return "sha-256"
	case crypto.SHA384:
		return "sha-384"
	case crypto.SHA512:
		return "sha-512"
	}
	return "unknown"
}
