package relay

import (
	"strings"
	"testing"
)

func TestKeyFormat(t *testing.T) {
	key, hash, prefix, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if CheckKeyFormat(key) != nil || !strings.HasPrefix(key, prefix) || !SameHash(hash, HashKey(key)) {
		t.Fatalf("key %q, hash %q, prefix %q", key, hash, prefix)
	}
	// one character changed breaks the checksum; other shapes are not keys
	flipped := []byte(key)
	flipped[len(keyPrefix)+3] ^= 1
	for _, bad := range []string{string(flipped), key[:len(key)-1], "ost_", "", strings.ToUpper(key)} {
		if CheckKeyFormat(bad) != ErrMalformedKey {
			t.Errorf("%q accepted", bad)
		}
	}
	if SameHash(hash, hash[:len(hash)-1]) {
		t.Error("hashes of different lengths compared equal")
	}
}

// FuzzCheckKeyFormat: whatever a caller sends as a key, the check answers
// without panicking, and accepts only keys of the one length.
func FuzzCheckKeyFormat(f *testing.F) {
	key, _, _, _ := NewKey()
	f.Add(key)
	f.Add("ost_")
	f.Fuzz(func(t *testing.T, s string) {
		if CheckKeyFormat(s) == nil && len(s) != keyLen {
			t.Fatalf("accepted %q", s)
		}
	})
}
