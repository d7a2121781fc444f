package completion

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testclock"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{
		"30/1m":   {30, time.Minute},
		" 5/10s ": {5, 10 * time.Second},
		"100/1h":  {100, time.Hour},
	} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "30", "30/", "/1m", "0/1m", "-1/1m", "x/1m", "30/m", "30/0s", "30/500ms", "30/48h", "2000000/1m", "30/1m/2"} {
		if r, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) = %v, want an error", in, r)
		}
	}
	if DefaultRate.String() != "30/1m0s" {
		t.Errorf("DefaultRate = %s", DefaultRate)
	}
}

func TestLimiterBurstAndRefill(t *testing.T) {
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l, err := NewLimiter(Rate{N: 3, Per: time.Minute}, 0, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if !l.Allow("p1") {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if l.Allow("p1") {
		t.Fatal("fourth request within the minute allowed")
	}
	if !l.Allow("p2") {
		t.Fatal("another project is limited by p1's use")
	}
	clock.Advance(19 * time.Second)
	if l.Allow("p1") {
		t.Fatal("allowed before a token refilled (one per 20s)")
	}
	clock.Advance(time.Second)
	if !l.Allow("p1") {
		t.Fatal("refused after one token refilled")
	}
	if l.Allow("p1") {
		t.Fatal("allowed two requests on one refilled token")
	}
	clock.Advance(time.Hour)
	for i := range 3 {
		if !l.Allow("p1") {
			t.Fatalf("after an hour, request %d refused: the bucket should be full", i+1)
		}
	}
	if l.Allow("p1") {
		t.Fatal("an hour's idleness gave more than the burst")
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	clock := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l, _ := NewLimiter(Rate{N: 2, Per: time.Minute}, 100, clock.Now)
	for i := range 1000 {
		l.Allow(fmt.Sprint("p", i))
		clock.Advance(time.Millisecond)
	}
	if n := l.Len(); n > 100 {
		t.Fatalf("%d keys tracked, limit 100", n)
	}
	// The busiest, most recent project keeps its spent bucket: eviction takes
	// the least recently used first.
	l.Allow("p999")
	if l.Allow("p999") {
		t.Fatal("p999's bucket was forgotten while older keys were kept")
	}
	// Buckets idle for a whole period are full again: dropping them first
	// loses nothing.
	clock.Advance(time.Minute)
	l.Allow("fresh")
	if n := l.Len(); n != 1 {
		t.Fatalf("%d keys after every other bucket refilled, want 1", n)
	}
}

func TestRefuseRateLimited(t *testing.T) {
	w := httptest.NewRecorder()
	RefuseRateLimited(w)
	if w.Code != 429 || w.Body.String() == "" || w.Header().Get("Retry-After") == "" {
		t.Fatalf("answer %d %q %v", w.Code, w.Body, w.Header())
	}
}
