package verdict

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testclock"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
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
	case <-time.After(testwait.Bound):
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
	var left []string
	ended := func() bool {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		left = left[:0]
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "verdict.(*Cache)") {
				left = append(left, g)
			}
		}
		return len(left) == 0
	}
	if !ended() {
		testwait.Until(tb, "the cache's goroutines ending", ended)
	}
}

// checkSpy is the transport of a cache whose test must show what ended a
// check, and when, without timing it: it records each request's context
// deadline and, once the request is over, the context's error.
type checkSpy struct {
	next http.RoundTripper
	mu   sync.Mutex
	ends []spiedCheck
}

// spiedCheck is one request as the spy saw it end.
type spiedCheck struct {
	deadline    time.Time
	hasDeadline bool
	err         error // the context's, when the request ended
}

// wrap puts the spy between the cache and its client's transport.
func (s *checkSpy) wrap(o *Options) {
	s.next = o.Client.Transport
	if s.next == nil {
		s.next = http.DefaultTransport
	}
	c := *o.Client
	c.Transport = s
	o.Client = &c
}

func (s *checkSpy) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := s.next.RoundTrip(r)
	d, ok := r.Context().Deadline()
	s.mu.Lock()
	s.ends = append(s.ends, spiedCheck{deadline: d, hasDeadline: ok, err: r.Context().Err()})
	s.mu.Unlock()
	return res, err
}

// wantTimedOut asserts that request i has ended, by its context's
// deadline, and that the deadline was timeout after the check began: some
// time between from and to. A check that gave up before its Timeout
// would show another deadline, or end with no context error (or a
// cancellation); one still running would not be recorded.
func (s *checkSpy) wantTimedOut(tb testing.TB, i int, from, to time.Time, timeout time.Duration) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ends) <= i {
		tb.Fatalf("request %d of the service had not ended (%d had)", i, len(s.ends))
	}
	c := s.ends[i]
	if !c.hasDeadline || c.deadline.Before(from.Add(timeout)) || c.deadline.After(to.Add(timeout)) {
		tb.Fatalf("request %d had deadline %v (set: %v), want Timeout (%v) after the check began", i, c.deadline, c.hasDeadline, timeout)
	}
	if !errors.Is(c.err, context.DeadlineExceeded) {
		tb.Fatalf("request %d ended with its context at %v, want its deadline exceeded", i, c.err)
	}
}
