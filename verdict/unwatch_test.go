package verdict

import (
	"testing"
	"time"
)

// TestUnwatchCountsWatchers: a key watched twice (two modules sharing a
// pooled cache and a key, as during a reload) stays watched until both
// let go; then the loop no longer checks it and its verdict expires like
// any other.
func TestUnwatchCountsWatchers(t *testing.T) {
	h := newHarness(t, nil)
	h.c.Watch(testKey)
	wantState(t, h.waitApplied(), Valid, false)
	h.c.Watch(testKey) // the configuration after a reload
	h.c.Unwatch(testKey)

	// One watcher left: the loop still refreshes it when due.
	h.clk.Advance(50 * time.Second)
	h.c.refreshDue()
	wantState(t, h.waitApplied(), Valid, false)
	h.wantRequests(2)

	// The last one gone: nothing refreshes it any more.
	h.c.Unwatch(testKey)
	h.clk.Advance(50 * time.Second)
	h.c.refreshDue()
	h.assertNoCheck()
	h.c.mu.Lock()
	n := len(h.c.watched)
	h.c.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d keys watched after the last Unwatch", n)
	}
	// Its verdict lives out its TTL and grace, as an unwatched one does,
	// and no longer.
	h.clk.Advance(testTTL + testGrace)
	h.cold()
	h.wantRequests(3)

	// Unwatching a key nobody watches, or too often, does nothing.
	h.c.Unwatch(testKey)
	h.c.Unwatch("ost_never_watched")
	h.c.Watch(testKey)
	h.clk.Advance(50 * time.Second)
	h.c.refreshDue()
	wantState(t, h.waitApplied(), Valid, false)
	h.wantRequests(4)
}
