package verdict

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
)

// TestCountChecks: every finished check is counted once with its result,
// a failure while a stale verdict is served as stale, and every lookup
// answered with a stale verdict as a stale serve.
func TestCountChecks(t *testing.T) {
	var mu sync.Mutex
	var results []string
	stale := 0
	h := newHarness(t, func(o *Options) {
		o.CountCheck = func(r string) { mu.Lock(); results = append(results, r); mu.Unlock() }
		o.CountStaleServe = func() { mu.Lock(); stale++; mu.Unlock() }
	})
	at := func(d time.Duration) { h.clk.Set(h.t0.Add(d)) }
	h.cold() // ok

	h.svc.Set(fakeservice.KeyError)
	at(50 * time.Second)
	wantState(t, h.lookup(), Valid, false)
	h.waitApplied() // error: failed while the verdict is still fresh

	at(testTTL + time.Second)
	wantState(t, h.lookup(), Valid, true) // a stale serve
	h.waitApplied()                       // stale: failed, stale verdict served
	at(testTTL + 2*time.Second)
	wantState(t, h.lookup(), Valid, true) // another stale serve, no check (backoff)

	h.svc.Set(fakeservice.KeyUnauthorized)
	at(testTTL + 10*time.Second)
	wantState(t, h.lookup(), Valid, true) // a third stale serve; the check it starts finds the key
	wantState(t, h.waitApplied(), Invalid, false)

	mu.Lock()
	defer mu.Unlock()
	if want := []string{CheckOK, CheckError, CheckStale, CheckInvalid}; !slices.Equal(results, want) {
		t.Errorf("counted %v, want %v", results, want)
	}
	if stale != 3 {
		t.Errorf("stale serves counted %d, want 3", stale)
	}
}
