package password

import (
	"errors"
	"strings"
	"testing"
)

// Known answers computed by the reference implementation (Debian's argon2
// command, phc-winner-argon2), e.g.
// echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1 -e
var reference = []struct {
	password, encoded string
}{
	{"password", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
	{"correct horse battery staple", "$argon2id$v=19$m=49152,t=2,p=2$YXMyZ2F0ZS1zYWx0LTE2Yg$MFnsjnK8xGzcyoR0V4VecE6w2N6Gy9tpyXI7RuaT1cY"},
}

func TestVerifyReference(t *testing.T) {
	for _, r := range reference {
		ok, err := Verify(r.password, r.encoded)
		if err != nil || !ok {
			t.Errorf("Verify(%q, reference) = %v, %v; want true", r.password, ok, err)
		}
		ok, err = Verify(r.password+"x", r.encoded)
		if err != nil || ok {
			t.Errorf("Verify(%q, reference) = %v, %v; want false", r.password+"x", ok, err)
		}
	}
}

func TestHashRoundTrip(t *testing.T) {
	for _, pw := range []string{"", "s3cret", "pässwörd ✓", strings.Repeat("x", MaxLength)} {
		encoded, err := Hash(pw)
		if err != nil {
			t.Fatalf("Hash(%d bytes): %v", len(pw), err)
		}
		if !strings.HasPrefix(encoded, "$argon2id$v=19$m=49152,t=2,p=2$") {
			t.Errorf("Hash = %q, want the documented parameters", encoded)
		}
		ok, err := Verify(pw, encoded)
		if err != nil || !ok {
			t.Errorf("Verify(right password) = %v, %v", ok, err)
		}
		ok, err = Verify(pw+"!", encoded)
		if err != nil || ok {
			t.Errorf("Verify(wrong password) = %v, %v", ok, err)
		}
	}
}

func TestHashSalted(t *testing.T) {
	a, err := Hash("same")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Hash("same")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two hashes of one password are equal: %s", a)
	}
}

func TestLengthBound(t *testing.T) {
	long := strings.Repeat("x", MaxLength+1)
	if _, err := Hash(long); !errors.Is(err, ErrTooLong) {
		t.Errorf("Hash(%d bytes) error = %v, want ErrTooLong", len(long), err)
	}
	ok, err := Verify(long, reference[0].encoded)
	if ok || err != nil {
		t.Errorf("Verify(%d bytes) = %v, %v; want false, nil", len(long), ok, err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	const salt, hash = "c29tZXNhbHQ", "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	for name, encoded := range map[string]string{
		"empty":             "",
		"plain text":        "password",
		"argon2i":           "$argon2i$v=19$m=65536,t=2,p=1$" + salt + "$" + hash,
		"old version":       "$argon2id$v=16$m=65536,t=2,p=1$" + salt + "$" + hash,
		"no version":        "$argon2id$m=65536,t=2,p=1$" + salt + "$" + hash,
		"extra field":       "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + hash + "$",
		"leading space":     " $argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + hash,
		"parameter order":   "$argon2id$v=19$t=2,m=65536,p=1$" + salt + "$" + hash,
		"missing parameter": "$argon2id$v=19$m=65536,t=2$" + salt + "$" + hash,
		"memory too large":  "$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + hash,
		"memory overflow":   "$argon2id$v=19$m=4294967296,t=2,p=1$" + salt + "$" + hash,
		"memory signed":     "$argon2id$v=19$m=+65536,t=2,p=1$" + salt + "$" + hash,
		"memory per lane":   "$argon2id$v=19$m=15,t=2,p=2$" + salt + "$" + hash,
		"zero passes":       "$argon2id$v=19$m=65536,t=0,p=1$" + salt + "$" + hash,
		"too many passes":   "$argon2id$v=19$m=65536,t=1000,p=1$" + salt + "$" + hash,
		"zero lanes":        "$argon2id$v=19$m=65536,t=2,p=0$" + salt + "$" + hash,
		"too many lanes":    "$argon2id$v=19$m=65536,t=2,p=255$" + salt + "$" + hash,
		"salt not base64":   "$argon2id$v=19$m=65536,t=2,p=1$!!!$" + hash,
		"salt padded":       "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ=$" + hash,
		"salt too short":    "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$" + hash,
		"salt too long":     "$argon2id$v=19$m=65536,t=2,p=1$" + strings.Repeat("A", 88) + "$" + hash,
		"hash not base64":   "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$*",
		"hash too short":    "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + hash[:16],
		"hash too long":     "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + strings.Repeat("A", 88),
	} {
		ok, err := Verify("password", encoded)
		if ok || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Verify = %v, %v; want false, ErrMalformed", name, ok, err)
		}
	}
}

func TestParameterBounds(t *testing.T) {
	const tail = "$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	for _, tc := range []struct {
		params string
		ok     bool
	}{
		{"m=262144,t=16,p=16", true},
		{"m=262145,t=2,p=1", false},
		{"m=65536,t=17,p=1", false},
		{"m=65536,t=2,p=17", false},
		{"m=16,t=1,p=2", true},
		{"m=15,t=1,p=2", false},
	} {
		_, err := decode("$argon2id$v=19$" + tc.params + tail)
		if (err == nil) != tc.ok {
			t.Errorf("decode(%s) error = %v, want ok=%v", tc.params, err, tc.ok)
		}
	}
}

func TestGenerate(t *testing.T) {
	counts := map[rune]int{}
	seen := map[string]bool{}
	const n = 1000
	for range n {
		pw := Generate()
		if len(pw) < 20 {
			t.Fatalf("Generate() = %q: shorter than 20", pw)
		}
		if strings.ContainsAny(pw, "0O1lIi") {
			t.Fatalf("Generate() = %q: has an ambiguous character", pw)
		}
		if seen[pw] {
			t.Fatalf("Generate() repeated %q", pw)
		}
		seen[pw] = true
		for _, r := range pw {
			counts[r]++
		}
	}
	// Every character of the alphabet, about equally often: a biased or
	// truncated choice shows up here.
	expected := n * GeneratedLength / len(alphabet)
	for _, r := range alphabet {
		if c := counts[r]; c < expected*2/3 || c > expected*4/3 {
			t.Errorf("%q drawn %d times, expected about %d", r, c, expected)
		}
	}
	if len(counts) != len(alphabet) {
		t.Errorf("drew %d distinct characters, alphabet has %d", len(counts), len(alphabet))
	}
}
