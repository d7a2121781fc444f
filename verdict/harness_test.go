package verdict

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testclock"
)

// testKey looks like a real key, so a leak of it would be recognisable.
const testKey = "ost_live_4f9c2b7e1d8a6c3f5b0e9d2a7c4f1b8e"

// harness is a Cache on a fake clock in front of a fake service. Its loop
// ticks once an hour of real time, so only the tests move it.
type harness struct {
	t       *testing.T
	svc     *fakeservice.KeyCheck
	clk     *testclock.Clock
	c       *Cache
	t0      time.Time
	applied chan Verdict
}

const (
	testTTL    = time.Minute
	testNegTTL = 30 * time.Second
	testGrace  = 10 * time.Minute
)

func newHarness(t *testing.T, tune func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, svc: fakeservice.NewKeyCheck(t), clk: testclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)), applied: make(chan Verdict, 4096)}
	h.t0 = h.clk.Now()
	opts := Options{
		Service:     h.svc.Server.URL,
		TTL:         testTTL,
		NegativeTTL: testNegTTL,
		StaleGrace:  testGrace,
		Timeout:     2 * time.Second,
		Client:      h.svc.Server.Client(),
		Now:         h.clk.Now,
		Interval:    time.Hour,
		applied: func(v Verdict) {
			select {
			case h.applied <- v:
			default:
			}
		},
	}
	if tune != nil {
		tune(&opts)
	}
	h.c = New(opts)
	t.Cleanup(h.c.Close)
	return h
}

func (h *harness) lookup() Verdict {
	return h.c.Lookup(context.Background(), testKey)
}

// cold looks the key up expecting a check made while it waits, and
// consumes that check's verdict from applied.
func (h *harness) cold() Verdict {
	h.t.Helper()
	v := h.lookup()
	select {
	case <-h.applied:
	default:
		h.t.Fatal("Lookup answered without a check")
	}
	return v
}

// waitApplied waits for the next check to finish and returns its verdict.
func (h *harness) waitApplied() Verdict {
	h.t.Helper()
	select {
	case v := <-h.applied:
		return v
	case <-time.After(5 * time.Second):
		h.t.Fatal("no check finished")
		return Verdict{}
	}
}

// assertNoCheck asserts no background check was started since the last
// waitApplied. A started one is either still in flights or has sent its
// verdict to applied before leaving flights, so the two looks suffice.
func (h *harness) assertNoCheck() {
	h.t.Helper()
	running := false
	h.c.flights.Range(func(any, any) bool { running = true; return false })
	if running {
		h.t.Fatal("a background check is running")
	}
	select {
	case v := <-h.applied:
		h.t.Fatalf("a check ran: %+v", v)
	default:
	}
}

func (h *harness) wantRequests(n int64) {
	h.t.Helper()
	if got := h.svc.Count(); got != n {
		h.t.Fatalf("service saw %d requests, want %d", got, n)
	}
}

func wantState(tb testing.TB, v Verdict, s State, stale bool) {
	tb.Helper()
	if v.State != s || v.Stale != stale {
		tb.Fatalf("verdict %v stale=%v, want %v stale=%v", v.State, v.Stale, s, stale)
	}
}

func testFingerprint() string {
	sum := sha256.Sum256([]byte(testKey))
	return hex.EncodeToString(sum[:])[:8]
}

// waitNoCacheGoroutines waits until no goroutine runs code of a Cache.
func waitNoCacheGoroutines(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var left []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "verdict.(*Cache)") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("goroutines of the cache still running:\n%s", strings.Join(left, "\n\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
