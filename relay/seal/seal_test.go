package seal

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func newTestSealer(t *testing.T, now *time.Time) *Sealer {
	t.Helper()
	s, err := New(bytes.Repeat([]byte("s"), 32), func() time.Time { return *now })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A value opens for its own purpose until its expiry, and never for
// another purpose, another secret, or after a change of a single byte.
func TestSealOpen(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newTestSealer(t, &now)
	text, exp, err := s.Seal(Access, map[string]string{"p": "blog"}, time.Minute)
	if err != nil || !exp.Equal(now.Add(time.Minute)) {
		t.Fatalf("seal: %v, expiry %v", err, exp)
	}
	var v map[string]string
	if err := s.Open(Access, text, &v); err != nil || v["p"] != "blog" {
		t.Fatalf("open: %v %v", err, v)
	}
	if err := s.Open(Refresh, text, &v); !errors.Is(err, ErrSealed) {
		t.Errorf("opened for another purpose: %v", err)
	}
	other, err := New(bytes.Repeat([]byte("t"), 32), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Open(Access, text, &v); !errors.Is(err, ErrSealed) {
		t.Errorf("opened with another secret: %v", err)
	}
	mid := len(text) / 2
	flipped := text[:mid] + map[bool]string{true: "B", false: "A"}[text[mid] == 'A'] + text[mid+1:]
	if err := s.Open(Access, flipped, &v); !errors.Is(err, ErrSealed) {
		t.Errorf("opened after a change: %v", err)
	}
	if err := s.Open(Access, strings.Repeat("A", 17<<10), &v); !errors.Is(err, ErrSealed) {
		t.Errorf("opened an over-long text: %v", err)
	}
	now = now.Add(time.Minute)
	v = nil
	if err := s.Open(Access, text, &v); !errors.Is(err, ErrExpired) || v["p"] != "blog" {
		t.Errorf("at its expiry: %v, %v; want ErrExpired with the value", err, v)
	}
}

// A secret shorter than 32 bytes is refused; digests are keyed by purpose.
func TestNewAndDerive(t *testing.T) {
	if _, err := New(bytes.Repeat([]byte("s"), 31), time.Now); err == nil {
		t.Error("a 31-byte secret was accepted")
	}
	now := time.Now()
	s := newTestSealer(t, &now)
	a, b := s.Derive(Verify, []byte("nonce")), s.Derive(CSRF, []byte("nonce"))
	if len(a) != 32 || bytes.Equal(a, b) || !bytes.Equal(a, s.Derive(Verify, []byte("nonce"))) {
		t.Errorf("derive: %x %x", a, b)
	}
}
