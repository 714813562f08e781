package pki

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(fixture("pyas2lib-fixtures/*cert*"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seed fixtures: %v", err)
	}
	seeds = append(seeds, fixture("derived/pyas2lib_test_key_unencrypted.pem"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "test")
		f.Add(data, "wrong")
	}
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		b, err := Parse(data, password)
		if err != nil {
			if b != nil {
				t.Fatalf("bundle returned along with error %v", err)
			}
			if len(data) > MaxInputSize && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("oversized input: %v", err)
			}
			return
		}
		if b.Key == nil && len(b.Certs) == 0 {
			t.Fatal("empty bundle without error")
		}
		if b.Key == nil {
			return
		}
		// The matching certificate, if any, must come first.
		for _, c := range b.Certs {
			if KeyMatchesCert(b.Key, c) && !KeyMatchesCert(b.Key, b.Certs[0]) {
				t.Fatal("a certificate matches the key but is not first")
			}
		}
	})
}
