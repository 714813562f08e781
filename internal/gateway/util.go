package gateway

import (
	"crypto"

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
