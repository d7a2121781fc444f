package verdict

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testclock"
)

// testKey looks like a real key, so a leak of it would be recognisable.
const testKey = "ost_live_4f9c2b7e1d8a6c3f5b0e9d2a7c4f1b8e"

const (
	proBody  = `{"project_id":"p_123","project_slug":"blog","account_slug":"acme","repo_owner":"acme","repo_slug":"site","monorepo_path":"apps/web","is_pro":true}`
	freeBody = `{"project_id":"p_456","project_slug":"notes","account_slug":"acme","repo_owner":"acme","repo_slug":"notes","monorepo_path":"","is_pro":false}`
)

// mode is how the fake service answers.
type mode int32

const (
	modePro          mode = iota // 200, a Pro project
	modeFree                     // 200, a free project
	modeUnauthorized             // 401 invalid-api-key
	modeForbidden                // 403
	modeError                    // 500, echoing the Authorization header
	modeClose                    // drops the connection without answering
	modeHang                     // blocks until the test ends
	modeGate                     // waits for gate, then answers as modePro
	modeMalformed                // 200, truncated JSON
	modeNoProjectID              // 200, JSON without project_id
	modeNull                     // 200, null
	modeWrongType                // 200, project_id a number
	modeHTML                     // 200, an HTML page
	modeHuge                     // 200, a project padded past 1 MiB
	modeRedirect                 // 302 to a path that answers modePro
	modeTeapot                   // 418
)

var modeNames = [...]string{"pro", "free", "401", "403", "500", "close", "hang", "gate",
	"malformed", "no-project-id", "null", "wrong-type", "html", "huge", "redirect", "418"}

func (m mode) String() string { return modeNames[m] }

// fakeService is the Outstatic service's key check on 127.0.0.1, with
// switches for every answer the cache must handle.
type fakeService struct {
	srv      *httptest.Server
	mode     atomic.Int32
	requests atomic.Int64
	entered  chan struct{} // a value per request received
	gaveUp   chan struct{} // a value per hung request the client abandoned
	release  chan struct{} // closed when the test ends: hung handlers return
	gate     chan struct{} // closed by a test to let modeGate answer

	mu      sync.Mutex
	headers []http.Header
	paths   []string
}

func newFake(tb testing.TB) *fakeService {
	f := &fakeService{
		entered: make(chan struct{}, 4096),
		gaveUp:  make(chan struct{}, 64),
		release: make(chan struct{}),
		gate:    make(chan struct{}),
	}
	f.srv = httptest.NewServer(f)
	// Cleanups run last-registered first: hung handlers are released
	// before the server waits for them.
	tb.Cleanup(f.srv.Close)
	tb.Cleanup(func() { close(f.release) })
	return f
}

func (f *fakeService) set(m mode) { f.mode.Store(int32(m)) }

func (f *fakeService) count() int64 { return f.requests.Load() }

func (f *fakeService) lastRequest() (string, http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paths[len(f.paths)-1], f.headers[len(f.headers)-1]
}

// waitEntered waits for the next request to reach the service.
func (f *fakeService) waitEntered(tb testing.TB) {
	tb.Helper()
	select {
	case <-f.entered:
	case <-time.After(5 * time.Second):
		tb.Fatal("no request reached the service")
	}
}

// drainEntered forgets the requests seen so far.
func (f *fakeService) drainEntered() {
	for {
		select {
		case <-f.entered:
		default:
			return
		}
	}
}

func (f *fakeService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/elsewhere" {
		writeJSON(w, http.StatusOK, proBody)
		return
	}
	f.requests.Add(1)
	f.mu.Lock()
	f.paths = append(f.paths, r.URL.Path)
	f.headers = append(f.headers, r.Header.Clone())
	f.mu.Unlock()
	select {
	case f.entered <- struct{}{}:
	default:
	}

	switch mode(f.mode.Load()) {
	case modePro:
		writeJSON(w, http.StatusOK, proBody)
	case modeFree:
		writeJSON(w, http.StatusOK, freeBody)
	case modeUnauthorized:
		writeJSON(w, http.StatusUnauthorized, `{"error":"invalid-api-key"}`)
	case modeForbidden:
		writeJSON(w, http.StatusForbidden, `{"error":"forbidden"}`)
	case modeError:
		// A careless service that echoes the key: it must still not
		// reach a log.
		writeJSON(w, http.StatusInternalServerError, `{"error":"boom","auth":"`+r.Header.Get("Authorization")+`"}`)
	case modeClose:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	case modeHang:
		select {
		case <-f.release:
		case <-r.Context().Done():
			select {
			case f.gaveUp <- struct{}{}:
			default:
			}
			<-f.release
		}
	case modeGate:
		select {
		case <-f.gate:
		case <-f.release:
		}
		writeJSON(w, http.StatusOK, proBody)
	case modeMalformed:
		writeJSON(w, http.StatusOK, `{"project_id":"p_123","is_pro":tr`)
	case modeNoProjectID:
		writeJSON(w, http.StatusOK, `{"project_slug":"blog","is_pro":true}`)
	case modeNull:
		writeJSON(w, http.StatusOK, `null`)
	case modeWrongType:
		writeJSON(w, http.StatusOK, `{"project_id":42,"is_pro":true}`)
	case modeHTML:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<html><body>Sign in to the Wi-Fi</body></html>"))
	case modeHuge:
		writeJSON(w, http.StatusOK, `{"project_id":"p_123","is_pro":true,"pad":"`+strings.Repeat("a", maxBody)+`"}`)
	case modeRedirect:
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	case modeTeapot:
		writeJSON(w, http.StatusTeapot, `{}`)
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// harness is a Cache on a fake clock in front of a fake service. Its loop
// ticks once an hour of real time, so only the tests move it.
type harness struct {
	t       *testing.T
	svc     *fakeService
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
	h := &harness{t: t, svc: newFake(t), clk: testclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)), applied: make(chan Verdict, 4096)}
	h.t0 = h.clk.Now()
	opts := Options{
		Service:     h.svc.srv.URL,
		TTL:         testTTL,
		NegativeTTL: testNegTTL,
		StaleGrace:  testGrace,
		Timeout:     2 * time.Second,
		Client:      h.svc.srv.Client(),
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
	if got := h.svc.count(); got != n {
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
