package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateKey(t *testing.T) {
	good := []string{
		"secret", "keys/blog", "tokens/0123456789abcdef", "spent/AbC-_.~@=+,;!$&'()%",
		"a/b/c", ".hidden", "a/.b", "a..b", "x", strings.Repeat("k", MaxKeyLen),
	}
	for _, k := range good {
		if err := ValidateKey(k); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", k, err)
		}
	}
	for _, k := range badKeys {
		err := ValidateKey(k)
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidateKey(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
}

func TestValidateListPrefix(t *testing.T) {
	for _, p := range []string{"", "keys", "keys/", "keys/b", "tokens/.", "a/b/"} {
		if err := validateListPrefix(p); err != nil {
			t.Errorf("validateListPrefix(%q) = %v, want nil", p, err)
		}
	}
	for _, p := range []string{"/", "/a", "a//", "../", "a/./", "a/../b", "sp ace", "x?", strings.Repeat("k", MaxKeyLen+1)} {
		if err := validateListPrefix(p); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("validateListPrefix(%q) = %v, want ErrInvalidKey", p, err)
		}
	}
}

func TestEnvelope(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, tc := range []struct {
		value   []byte
		expires time.Time
	}{
		{[]byte("v"), at},
		{nil, time.Time{}},
		{bytes.Repeat([]byte{0xff}, 1000), at},
	} {
		e, err := decodeEnvelope(encodeEnvelope(tc.value, tc.expires))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.value, tc.value) || !e.expires.Equal(tc.expires) {
			t.Errorf("round trip of %q, %v = %q, %v", tc.value, tc.expires, e.value, e.expires)
		}
	}
	whole := encodeEnvelope([]byte("value"), at)
	for name, b := range map[string][]byte{
		"empty":      nil,
		"short":      whole[:envelopeHeader-1],
		"cut":        whole[:len(whole)-1],
		"longer":     append(append([]byte{}, whole...), 'x'),
		"wrong":      append([]byte("XXXX"), whole[4:]...),
		"plain text": []byte("a plain file that is long enough"),
	} {
		if _, err := decodeEnvelope(b); !errors.Is(err, errBadEnvelope) {
			t.Errorf("%s: decodeEnvelope = %v, want errBadEnvelope", name, err)
		}
	}
}

func TestEnvelopeExpired(t *testing.T) {
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	e := envelope{expires: at}
	if e.expired(at.Add(-time.Nanosecond)) || !e.expired(at) || !e.expired(at.Add(time.Hour)) {
		t.Fatal("an entry must be live before its expiry and expired from it on")
	}
	if (envelope{}).expired(at.Add(1000 * time.Hour)) {
		t.Fatal("an entry without expiry expired")
	}
}

// FuzzValidateKey checks that an accepted key can never climb out of the
// store's directory or hide a separator a file system would honour.
func FuzzValidateKey(f *testing.F) {
	for _, k := range append([]string{"keys/blog", "a/b/c", ".x"}, badKeys...) {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if ValidateKey(key) != nil {
			return
		}
		if len(key) == 0 || len(key) > MaxKeyLen || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
			t.Fatalf("accepted %q", key)
		}
		for seg := range strings.SplitSeq(key, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("accepted %q with segment %q", key, seg)
			}
		}
		if strings.ContainsAny(key, "\\:\x00 ") {
			t.Fatalf("accepted %q", key)
		}
	})
}

// FuzzDecodeEnvelope checks that any stored bytes decode or fail cleanly,
// and that what decodes encodes back to the same bytes.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add(encodeEnvelope([]byte("v"), time.Unix(1, 2)))
	f.Add(encodeEnvelope(nil, time.Time{}))
	f.Add([]byte("OSE1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEnvelope(b)
		if err != nil {
			return
		}
		if again := encodeEnvelope(e.value, e.expires); !bytes.Equal(again, b) {
			t.Fatalf("decode then encode changed %x into %x", b, again)
		}
	})
}
