package guard

import (
	"strings"
	"testing"
	"time"
)

func testBinding() Binding {
	return Binding{secret: []byte("0123456789abcdef0123456789abcdef"), ttl: time.Minute, now: time.Now}
}

// TestBindingRoundTrip: a value checks for the site and secret that made
// it; otherwise check says why, so that the guard's log tells a binding
// from another instance (or another binding_secret) from an expired one.
func TestBindingRoundTrip(t *testing.T) {
	b := testBinding()
	v := b.Value("https://blog.example.com")
	if id, exp, fault := b.check(v, "https://blog.example.com"); fault != bindingOK || id == "" || exp.Before(time.Now()) {
		t.Fatalf("own value refused: %q %v %v", id, exp, fault)
	}
	if _, _, fault := b.check(v, "https://other.example.com"); fault != bindingForeign {
		t.Fatalf("a value minted for one site, checked for another: %v", fault)
	}
	other := b
	other.secret = []byte("another secret, another instance")
	if _, _, fault := other.check(v, "https://blog.example.com"); fault != bindingForeign {
		t.Fatalf("a value checked with another secret: %v", fault)
	}
	expired := b.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }).Value("https://blog.example.com")
	if _, _, fault := b.check(expired, "https://blog.example.com"); fault != bindingExpired {
		t.Fatalf("an expired value: %v", fault)
	}
	for _, bad := range []string{"", "v2", "v1.1.a.b", "v2.x.a." + strings.Repeat("A", 43), "v2.1.a.short"} {
		if _, _, fault := b.check(bad, "https://blog.example.com"); fault != bindingMalformed {
			t.Errorf("%q: %v, want malformed", bad, fault)
		}
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
		id, _, fault := b.check(v, "https://blog.example.com")
		if fault != bindingOK {
			return
		}
		if id == "" || len(v) > 256 {
			t.Fatalf("accepted %q with id %q", v, id)
		}
		// Any change to the signed part is refused: the fuzzer cannot
		// forge an HMAC, so what it gets accepted is a minted value.
		forged := []byte(v)
		forged[3] ^= 1
		if _, _, fault := b.check(string(forged), "https://blog.example.com"); fault == bindingOK {
			t.Fatalf("accepted %q and, changed, %q", v, forged)
		}
	})
}
