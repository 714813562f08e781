package loadgen

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"
)

// Bounds of MeasureRSA: Go refuses smaller keys, and generating larger ones
// takes minutes.
const (
	minRSABits = 1024
	maxRSABits = 8192
	maxRSAOps  = 100000
)

// MeasureRSA times n RSA PKCS#1 v1.5 signatures over a SHA-256 digest with
// a throw-away key of the given size and returns the median: the cost of
// one private-key operation (decrypting a content key costs the same).
func MeasureRSA(bits, n int) (time.Duration, error) {
	if bits < minRSABits || bits > maxRSABits {
		return 0, fmt.Errorf("loadgen: RSA key of %d bits: want %d to %d", bits, minRSABits, maxRSABits)
	}
	if n < 1 || n > maxRSAOps {
		return 0, fmt.Errorf("loadgen: %d RSA operations: want 1 to %d", n, maxRSAOps)
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return 0, fmt.Errorf("loadgen: generating a %d-bit key: %w", bits, err)
	}
	digest := sha256.Sum256([]byte("as2gate bench"))
	times := make([]time.Duration, n)
	for i := range times {
		start := time.Now()
		if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:]); err != nil {
			return 0, fmt.Errorf("loadgen: RSA signature: %w", err)
		}
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	return times[n/2], nil
}

// CPUBound is the most messages per second that cores can receive when
// each message costs two private-key operations of op each (decrypting
// the content key and signing the MDN), everything else being free.
func CPUBound(cores int, op time.Duration) float64 {
	if cores < 1 || op <= 0 {
		return 0
	}
	return float64(cores) / (2 * op.Seconds())
}
