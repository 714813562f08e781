package gateway

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"

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

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
