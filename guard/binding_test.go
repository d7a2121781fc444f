package guard

import (
	"strings"
	"testing"
	"time"
)

func testBinding() Binding {
	return Binding{secret: []byte("0123456789abcdef0123456789abcdef"), ttl: time.Minute, now: time.Now}
}

func TestBindingRoundTrip(t *testing.T) {
	b := testBinding()
	v := b.Value("https://blog.example.com")
	if id, exp, ok := b.check(v, "https://blog.example.com"); !ok || id == "" || exp.Before(time.Now()) {
		t.Fatalf("own value refused: %q %v %v", id, exp, ok)
	}
	if _, _, ok := b.check(v, "https://other.example.com"); ok {
		t.Fatal("a value minted for one site checked for another")
	}
	other := b
	other.secret = []byte("another secret, another instance")
	if _, _, ok := other.check(v, "https://blog.example.com"); ok {
		t.Fatal("a value checked with another secret")
	}
	expired := b.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }).Value("https://blog.example.com")
	if _, _, ok := b.check(expired, "https://blog.example.com"); ok {
		t.Fatal("an expired value checked")
	}
}

// FuzzBindingCheck feeds the cookie parser anything a client can send: it
// must never accept a value this secret did not mint for the site, and a
// value it mints checks only unchanged.
func FuzzBindingCheck(f *testing.F) {
	b := testBinding()
	good := b.Value("https://blog.example.com")
	f.Add(good)
	f.Add("v2.9999999999.AAAA.AAAA")
	f.Add("")
	f.Add("....")
	f.Add(strings.Repeat("a.", 200))
	f.Fuzz(func(t *testing.T, v string) {
		id, _, ok := b.check(v, "https://blog.example.com")
		if !ok {
			return
		}
		if id == "" || len(v) > 256 {
			t.Fatalf("accepted %q with id %q", v, id)
		}
		// Any change to the signed part is refused: the fuzzer cannot
		// forge an HMAC, so what it gets accepted is a minted value.
		forged := []byte(v)
		forged[3] ^= 1
		if _, _, ok := b.check(string(forged), "https://blog.example.com"); ok {
			t.Fatalf("accepted %q and, changed, %q", v, forged)
		}
	})
}
