package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock               { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func mustNew(t *testing.T, cfg Config) *Limiter {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestAllow(t *testing.T) {
	type step struct {
		advance time.Duration
		key     string
		want    bool
	}
	for _, tc := range []struct {
		name  string
		every time.Duration
		burst int
		steps []step
	}{
		{"burst then refused", time.Minute, 3, []step{
			{0, "a", true}, {0, "a", true}, {0, "a", true}, {0, "a", false}, {59 * time.Second, "a", false},
		}},
		{"one token back per period", time.Minute, 2, []step{
			{0, "a", true}, {0, "a", true}, {0, "a", false},
			{time.Minute, "a", true}, {0, "a", false},
			{2 * time.Minute, "a", true}, {0, "a", true}, {0, "a", false},
		}},
		{"keys are independent", time.Hour, 1, []step{
			{0, "ann@example.org", true}, {0, "ann@example.org", false},
			{0, "bob@example.org", true}, {0, "203.0.113.7", true}, {0, "bob@example.org", false},
		}},
		{"never more than burst after a long quiet", time.Second, 2, []step{
			{0, "a", true}, {time.Hour, "a", true}, {0, "a", true}, {0, "a", false},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			l := mustNew(t, Config{Every: tc.every, Burst: tc.burst, Now: c.now})
			for i, s := range tc.steps {
				c.add(s.advance)
				if got := l.Allow(s.key); got != s.want {
					t.Fatalf("step %d (%q after %v): got %v, want %v", i, s.key, s.advance, got, s.want)
				}
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{Every: time.Minute, Burst: 1, Now: c.now})
	if d := l.RetryAfter("a"); d != 0 {
		t.Fatalf("unknown key: %v", d)
	}
	l.Allow("a")
	if d := l.RetryAfter("a"); d != time.Minute {
		t.Fatalf("after spending: %v", d)
	}
	c.add(45 * time.Second)
	if d := l.RetryAfter("a"); d < 14*time.Second || d > 16*time.Second {
		t.Fatalf("after 45s: %v", d)
	}
}

func TestIdleKeysAreForgotten(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{Every: time.Minute, Burst: 2, Now: c.now})
	for i := range 100 {
		l.Allow(fmt.Sprint("k", i))
	}
	if l.Len() != 100 {
		t.Fatalf("len %d", l.Len())
	}
	c.add(time.Minute)
	l.Allow("busy")
	l.Allow("busy")
	c.add(time.Minute) // the 100 keys have now refilled (2 minutes); "busy" has not
	l.Allow("other")
	if l.Len() != 2 {
		t.Fatalf("len %d after sweep, want busy and other", l.Len())
	}
	// Forgetting is lossless: "busy" is still limited.
	if l.Allow("busy") != true || l.Allow("busy") != false {
		t.Fatal("busy lost its state")
	}
}

func TestMaxKeysEvictsLeastRecentlyUsed(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{Every: time.Hour, Burst: 1, MaxKeys: 3, Now: c.now})
	l.Allow("a")
	l.Allow("b")
	l.Allow("c")
	l.Allow("a") // a is now the most recently used; b the least
	l.Allow("d")
	if l.Len() != 3 {
		t.Fatalf("len %d", l.Len())
	}
	if l.Allow("a") {
		t.Error("a was evicted")
	}
	if !l.Allow("b") {
		t.Error("b was kept")
	}
	for i := range 10000 {
		l.Allow(fmt.Sprint("spray", i))
	}
	if l.Len() != 3 {
		t.Fatalf("len %d after spraying", l.Len())
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{{Every: 0, Burst: 1}, {Every: time.Second, Burst: 0}, {Every: time.Second, Burst: 1, MaxKeys: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}
