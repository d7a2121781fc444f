package verdict

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

func TestColdLookupsShareOneRequest(t *testing.T) {
	h := newHarness(t, nil)
	h.svc.Set(fakeservice.KeyGate)

	const n = 1000
	var wg sync.WaitGroup
	ready := make(chan struct{}, n)
	got := make([]Verdict, n)
	for i := range n {
		wg.Go(func() {
			ready <- struct{}{}
			got[i] = h.lookup()
		})
	}
	for range n {
		<-ready
	}
	h.svc.WaitEntered(t)
	close(h.svc.Gate)
	wg.Wait()

	h.wantRequests(1)
	for i, v := range got {
		if v.State != Valid || !v.Pro() || v.Stale {
			t.Fatalf("lookup %d: %+v", i, v)
		}
	}
}

func TestVerdictFromService(t *testing.T) {
	cases := []struct {
		mode  fakeservice.KeyCheckMode
		state State
		pro   bool
		body  string
	}{
		{fakeservice.KeyPro, Valid, true, fakeservice.KeyCheckProBody},
		{fakeservice.KeyFree, Valid, false, fakeservice.KeyCheckFreeBody},
		{fakeservice.KeyUnauthorized, Invalid, false, ""},
		{fakeservice.KeyForbidden, Invalid, false, ""},
		{fakeservice.KeyError, Unknown, false, ""},
		{fakeservice.KeyTeapot, Unknown, false, ""},
		{fakeservice.KeyClose, Unknown, false, ""},
	}
	for _, tc := range cases {
		for _, slash := range []string{"", "/"} {
			name := tc.mode.String()
			if slash != "" {
				name += "_trailing_slash"
			}
			t.Run(name, func(t *testing.T) {
				h := newHarness(t, func(o *Options) { o.Service += "/api" + slash })
				h.svc.Set(tc.mode)
				v := h.lookup()
				wantState(t, v, tc.state, false)
				if v.Pro() != tc.pro || string(v.Body) != tc.body {
					t.Fatalf("pro=%v body=%q", v.Pro(), v.Body)
				}
				if tc.state == Valid && v.Project.ProjectID == "" {
					t.Fatalf("project not parsed: %+v", v.Project)
				}
				if tc.state != Unknown && !v.CheckedAt.Equal(h.t0) {
					t.Fatalf("CheckedAt %v, want %v", v.CheckedAt, h.t0)
				}
				if tc.state == Unknown && !v.CheckedAt.IsZero() {
					t.Fatalf("CheckedAt %v for a key never answered", v.CheckedAt)
				}

				path, hdr := h.svc.LastRequest()
				if path != "/api/outstatic/project" {
					t.Errorf("path %q", path)
				}
				if hdr.Get("Authorization") != "Bearer "+testKey {
					t.Errorf("Authorization %q", hdr.Get("Authorization"))
				}
				if hdr.Get("Accept") != "application/json" || hdr.Get("User-Agent") != "caddy-outstatic" {
					t.Errorf("headers %v", hdr)
				}
			})
		}
	}
}

func TestProject(t *testing.T) {
	h := newHarness(t, nil)
	want := Project{ProjectID: "p_123", ProjectSlug: "blog", AccountSlug: "acme",
		RepoOwner: "acme", RepoSlug: "site", MonorepoPath: "apps/web", IsPro: true}
	if got := h.lookup().Project; !reflect.DeepEqual(got, want) {
		t.Fatalf("project %+v, want %+v", got, want)
	}
}

// TestProjectExtension: a native relay's answer carries the project's
// callback origins and plan, kept with the verdict; outstatic.com's
// carries neither, and the verdict says so; fields of these names with
// other types are ignored, with a warning, and the key is still verified.
func TestProjectExtension(t *testing.T) {
	t.Run("relay", func(t *testing.T) {
		h := newHarness(t, nil)
		h.svc.Set(fakeservice.KeyRelay)
		p := h.cold().Project
		want := []string{"https://blog.example.com/outstatic", "https://preview.example.com/outstatic"}
		if !p.HasCallbackOrigins || !reflect.DeepEqual(p.CallbackOrigins, want) || p.Plan != "pro" || !p.IsPro || p.ProjectID != "p_123" {
			t.Fatalf("project %+v", p)
		}
		// the service fails: the stale verdict keeps the origins
		h.svc.Set(fakeservice.KeyError)
		h.clk.Advance(testTTL + time.Second)
		h.lookup()
		if v := h.waitApplied(); !v.Stale || !reflect.DeepEqual(v.Project.CallbackOrigins, want) {
			t.Fatalf("after a failed refresh: %+v", v)
		}
		// a definite 401 drops them
		h.svc.Set(fakeservice.KeyUnauthorized)
		h.clk.Advance(2 * time.Second) // past the first retry's backoff
		h.lookup()
		if v := h.waitApplied(); v.State != Invalid || v.Project.HasCallbackOrigins || v.Project.CallbackOrigins != nil {
			t.Fatalf("after a 401: %+v", v)
		}
	})
	t.Run("outstatic.com", func(t *testing.T) {
		h := newHarness(t, nil)
		if p := h.lookup().Project; p.HasCallbackOrigins || p.CallbackOrigins != nil || p.Plan != "" {
			t.Fatalf("project %+v", p)
		}
	})
	t.Run("other types", func(t *testing.T) {
		core, logs := observer.New(zapcore.WarnLevel)
		h := newHarness(t, func(o *Options) { o.Logger = zap.New(core) })
		h.svc.Set(fakeservice.KeyOddExtension)
		v := h.lookup()
		wantState(t, v, Valid, false)
		if p := v.Project; p.HasCallbackOrigins || p.CallbackOrigins != nil || p.Plan != "" || !p.IsPro {
			t.Fatalf("project %+v", p)
		}
		if logs.FilterMessageSnippet("not this plugin's extension").Len() != 1 {
			t.Fatalf("no warning about the extension: %v", logs.All())
		}
	})
}

func TestInvalidReplacesValidAtOnce(t *testing.T) {
	for _, m := range []fakeservice.KeyCheckMode{fakeservice.KeyUnauthorized, fakeservice.KeyForbidden} {
		t.Run(fmt.Sprint(m), func(t *testing.T) {
			h := newHarness(t, nil)
			wantState(t, h.cold(), Valid, false)

			h.svc.Set(m)
			h.clk.Advance(50 * time.Second) // past RefreshAt*TTL, within TTL
			wantState(t, h.lookup(), Valid, false)
			wantState(t, h.waitApplied(), Invalid, false)

			v := h.lookup()
			wantState(t, v, Invalid, false)
			if v.Pro() || v.Body != nil || !reflect.DeepEqual(v.Project, Project{}) {
				t.Fatalf("invalid verdict carries the old project: %+v", v)
			}
			h.wantRequests(2)

			// Kept NegativeTTL, then checked again.
			h.svc.Set(fakeservice.KeyPro)
			h.clk.Advance(testNegTTL - time.Second)
			wantState(t, h.lookup(), Invalid, false)
			h.assertNoCheck()
			h.wantRequests(2)
			h.clk.Advance(time.Second)
			wantState(t, h.cold(), Valid, false)
			h.wantRequests(3)
		})
	}
}

func TestOutageServesStaleWithinGrace(t *testing.T) {
	for _, m := range []fakeservice.KeyCheckMode{fakeservice.KeyError, fakeservice.KeyClose, fakeservice.KeyMalformed} {
		t.Run(fmt.Sprint(m), func(t *testing.T) {
			h := newHarness(t, nil)
			at := func(d time.Duration) { h.clk.Set(h.t0.Add(d)) }
			wantState(t, h.cold(), Valid, false)

			h.svc.Set(m)
			at(50 * time.Second)
			wantState(t, h.lookup(), Valid, false)
			wantState(t, h.waitApplied(), Valid, false) // failed, still within TTL

			at(testTTL + time.Second)
			v := h.lookup()
			wantState(t, v, Valid, true)
			if !v.Pro() || string(v.Body) != fakeservice.KeyCheckProBody || !v.CheckedAt.Equal(h.t0) {
				t.Fatalf("stale verdict lost its project: %+v", v)
			}
			wantState(t, h.waitApplied(), Valid, true) // second failure

			// Backoff: the third try waits 2s after the second.
			at(testTTL + 2*time.Second)
			wantState(t, h.lookup(), Valid, true)
			h.assertNoCheck()
			at(testTTL + 3*time.Second)
			wantState(t, h.lookup(), Valid, true)
			wantState(t, h.waitApplied(), Valid, true)

			at(testTTL + testGrace - 10*time.Second)
			wantState(t, h.lookup(), Valid, true)
			wantState(t, h.waitApplied(), Valid, true)

			// Past the grace the verdict is Unknown, and the failed check
			// is not repeated for NegativeTTL.
			at(testTTL + testGrace)
			v = h.cold()
			wantState(t, v, Unknown, false)
			if v.Pro() || v.Body != nil || !v.CheckedAt.Equal(h.t0) {
				t.Fatalf("unknown verdict: %+v", v)
			}
			n := h.svc.Count()
			wantState(t, h.lookup(), Unknown, false)
			h.assertNoCheck()
			h.wantRequests(n)

			// Recovery.
			h.svc.Set(fakeservice.KeyPro)
			h.clk.Advance(testNegTTL)
			wantState(t, h.cold(), Valid, false)
		})
	}
}

func TestWatchedKeyPastGraceIsUnknownWithoutWaiting(t *testing.T) {
	h := newHarness(t, nil)
	h.c.Watch(testKey)
	wantState(t, h.waitApplied(), Valid, false)

	h.svc.Set(fakeservice.KeyError)
	h.clk.Advance(testTTL + testGrace)
	wantState(t, h.lookup(), Unknown, false) // from the cache; a refresh starts
	wantState(t, h.waitApplied(), Unknown, false)
	wantState(t, h.lookup(), Unknown, false)

	h.svc.Set(fakeservice.KeyPro)
	h.clk.Advance(testNegTTL)
	h.c.refreshDue()
	wantState(t, h.waitApplied(), Valid, false)
	wantState(t, h.lookup(), Valid, false)
}

func TestHungServiceDoesNotDelayCachedLookup(t *testing.T) {
	const timeout = 300 * time.Millisecond
	spy := &checkSpy{}
	h := newHarness(t, func(o *Options) { o.Timeout = timeout; spy.wrap(o) })
	wantState(t, h.cold(), Valid, false)
	h.svc.DrainEntered()

	h.svc.Set(fakeservice.KeyHang)
	h.clk.Advance(50 * time.Second)
	began := time.Now()
	v := h.lookup()
	// Had Lookup waited for its refresh, the refresh's verdict would be
	// in applied by now: the hung handler is never released before the
	// test ends, so that refresh can only end by giving up.
	select {
	case <-h.applied:
		t.Fatal("Lookup waited for the refresh")
	default:
	}
	wantState(t, v, Valid, false)
	h.svc.WaitEntered(t)
	entered := time.Now()

	// The refresh gives up when Timeout runs out, and keeps the verdict.
	got := h.waitApplied()
	spy.wantTimedOut(t, 1, began, entered, timeout)
	wantState(t, got, Valid, false)
	testwait.Recv(t, "the client abandoning the hung request", h.svc.GaveUp)
	// The failure is remembered: no retry before the backoff.
	wantState(t, h.lookup(), Valid, false)
	h.assertNoCheck()
	h.wantRequests(2)
}

func TestColdLookupOnHungServiceGivesUpAfterTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	spy := &checkSpy{}
	h := newHarness(t, func(o *Options) { o.Timeout = timeout; spy.wrap(o) })
	h.svc.Set(fakeservice.KeyHang)

	began := time.Now()
	wantState(t, h.cold(), Unknown, false)
	// Lookup returned once the check's request had ended, and that
	// request ended when its Timeout ran out.
	spy.wantTimedOut(t, 0, began, time.Now(), timeout)
	// The failure is kept: the next request does not wait again.
	wantState(t, h.lookup(), Unknown, false)
	h.assertNoCheck()
	h.wantRequests(1)
}

func TestColdLookupRespectsContext(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Timeout = time.Hour })
	h.svc.Set(fakeservice.KeyHang)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Verdict)
	go func() { done <- h.c.Lookup(ctx, testKey) }()
	h.svc.WaitEntered(t)
	cancel()
	select {
	case v := <-done:
		wantState(t, v, Unknown, false)
	case <-time.After(testwait.Bound): // the check's Timeout is an hour
		t.Fatal("Lookup ignored its context")
	}

	// A done context starts no check.
	wantState(t, h.c.Lookup(ctx, "ost_other_key"), Unknown, false)
	h.wantRequests(1)

	// Close aborts the check still running; an aborted check is not a
	// verdict.
	h.c.Close()
	select {
	case v := <-h.applied:
		t.Fatalf("aborted check recorded: %+v", v)
	default:
	}
	waitNoCacheGoroutines(t)
}

func TestWatchRefreshesBeforeTTL(t *testing.T) {
	h := newHarness(t, nil)
	h.c.Watch(testKey)
	wantState(t, h.waitApplied(), Valid, false)

	// Traffic meanwhile: no Lookup may see an expired verdict.
	stop := make(chan struct{})
	var bad atomic.Value
	var traffic sync.WaitGroup
	traffic.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			// The clock moves on meanwhile: read it before, when it was
			// no later than the Lookup's own reading.
			before := h.clk.Now()
			v := h.lookup()
			if v.State != Valid || v.Stale || before.Sub(v.CheckedAt) >= testTTL {
				bad.Store(v)
			}
		}
	})

	const rounds = 10
	for range rounds {
		h.clk.Advance(50 * time.Second) // 0.83 of TTL
		h.c.poke()
		v := h.waitApplied()
		wantState(t, v, Valid, false)
		if !v.CheckedAt.Equal(h.clk.Now()) {
			t.Fatalf("CheckedAt %v, want %v", v.CheckedAt, h.clk.Now())
		}
	}
	close(stop)
	traffic.Wait()
	if v := bad.Load(); v != nil {
		t.Fatalf("a Lookup saw an expired verdict: %+v", v.(Verdict).CheckedAt)
	}
	h.wantRequests(rounds + 1)
}

func TestWatchLoopTicks(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Interval = 5 * time.Millisecond })
	h.c.Watch(testKey)
	first := h.waitApplied()
	h.clk.Advance(50 * time.Second)
	second := h.waitApplied() // found by a tick, not by a Lookup
	if !second.CheckedAt.After(first.CheckedAt) {
		t.Fatalf("not refreshed: %v then %v", first.CheckedAt, second.CheckedAt)
	}
}

func TestWatchedNegativeDoesNotWait(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Timeout = 300 * time.Millisecond })
	h.svc.Set(fakeservice.KeyError)
	h.c.Watch(testKey)
	wantState(t, h.waitApplied(), Unknown, false)

	h.svc.Set(fakeservice.KeyHang)
	h.clk.Advance(testNegTTL)
	wantState(t, h.lookup(), Unknown, false)
	select {
	case <-h.applied:
		t.Fatal("Lookup waited for the check")
	default:
	}
	wantState(t, h.waitApplied(), Unknown, false)
}

func TestNotAProjectIsNotValid(t *testing.T) {
	modes := []fakeservice.KeyCheckMode{fakeservice.KeyMalformed, fakeservice.KeyNoProjectID, fakeservice.KeyNull, fakeservice.KeyWrongType, fakeservice.KeyHTML, fakeservice.KeyHuge, fakeservice.KeyRedirect}
	for _, m := range modes {
		t.Run(fmt.Sprint(m), func(t *testing.T) {
			// The default client: it must not follow the redirect.
			h := newHarness(t, func(o *Options) { o.Client = nil })
			h.svc.Set(m)
			v := h.cold()
			wantState(t, v, Unknown, false)
			if v.Body != nil || !reflect.DeepEqual(v.Project, Project{}) {
				t.Fatalf("%+v", v)
			}

			// With a Valid verdict, it is a failure, not a revocation.
			h.svc.Set(fakeservice.KeyPro)
			h.clk.Advance(testNegTTL)
			wantState(t, h.cold(), Valid, false)
			h.svc.Set(m)
			h.clk.Advance(50 * time.Second)
			h.lookup()
			wantState(t, h.waitApplied(), Valid, false)
			wantState(t, h.lookup(), Valid, false)
		})
	}
}

func TestMalformedKeysCostNoRequest(t *testing.T) {
	h := newHarness(t, nil)
	for _, k := range []string{"", "ost_ abc", "ost_abc\r\nX-Evil: 1", "ost_\x00", "ost_é", strings.Repeat("k", 5000)} {
		wantState(t, h.c.Lookup(context.Background(), k), Invalid, false)
		h.c.Watch(k)
	}
	h.c.refreshDue()
	h.assertNoCheck()
	h.wantRequests(0)
}

func TestForget(t *testing.T) {
	h := newHarness(t, nil)
	h.cold()
	h.c.Forget(testKey)
	h.cold()
	h.wantRequests(2)

	// A forgotten watched key is no longer refreshed.
	h.c.Watch(testKey)
	h.c.Forget(testKey)
	h.clk.Advance(testTTL)
	h.c.refreshDue()
	h.assertNoCheck()

	// A check running when its key is forgotten answers its callers but
	// is not kept.
	h.svc.Set(fakeservice.KeyGate)
	h.svc.DrainEntered()
	done := make(chan Verdict)
	go func() { done <- h.lookup() }()
	h.svc.WaitEntered(t)
	h.c.Forget(testKey)
	close(h.svc.Gate)
	wantState(t, <-done, Valid, false)
	h.waitApplied()
	h.cold()
	h.wantRequests(4)
}

func TestMaxKeysBoundsUnwatchedKeys(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxKeys = 2 })
	ctx := context.Background()
	for _, k := range []string{"ost_a", "ost_b", "ost_c"} {
		wantState(t, h.c.Lookup(ctx, k), Valid, false)
	}
	h.wantRequests(3)
	h.c.Lookup(ctx, "ost_a") // kept
	h.wantRequests(3)
	h.c.Lookup(ctx, "ost_c") // answered, not kept
	h.wantRequests(4)

	for range 4 {
		h.waitApplied()
	}
	h.c.Watch(testKey) // watched keys are kept regardless
	h.waitApplied()
	wantState(t, h.lookup(), Valid, false)
	h.wantRequests(5)
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 32 * time.Second, time.Minute, time.Minute}
	for i, w := range want {
		if got := backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := backoff(1 << 30); got != time.Minute {
		t.Errorf("backoff(huge) = %v", got)
	}
}

func TestCloseStopsBackgroundWork(t *testing.T) {
	svc := fakeservice.NewKeyCheck(t)
	svc.Set(fakeservice.KeyHang)
	c := New(Options{Service: svc.Server.URL, Client: svc.Server.Client(), Timeout: time.Hour, Interval: time.Millisecond})
	c.Watch(testKey)
	svc.WaitEntered(t)
	go c.Lookup(context.Background(), "ost_cold") // a caller waiting on a check
	svc.WaitEntered(t)

	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	testwait.Recv(t, "Close aborting the checks in flight (their Timeout is an hour)", closed)
	c.Close()
	waitNoCacheGoroutines(t)

	// Closed: answers from the cache only, starts nothing.
	n := svc.Count()
	wantState(t, c.Lookup(context.Background(), "ost_new"), Unknown, false)
	c.Watch("ost_new")
	waitNoCacheGoroutines(t)
	if svc.Count() != n {
		t.Fatal("a closed cache sent a request")
	}
}

func TestKeyNeverLogged(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	h := newHarness(t, func(o *Options) {
		o.Logger = zap.New(core)
		o.Timeout = 100 * time.Millisecond
	})
	h.c.Watch(testKey)
	h.waitApplied()
	for _, m := range []fakeservice.KeyCheckMode{fakeservice.KeyError, fakeservice.KeyClose, fakeservice.KeyMalformed, fakeservice.KeyHang, fakeservice.KeyFree, fakeservice.KeyUnauthorized, fakeservice.KeyTeapot} {
		h.svc.Set(m)
		h.clk.Advance(testTTL)
		h.c.refreshDue()
		h.waitApplied()
	}
	h.svc.Set(fakeservice.KeyError)
	h.c.Lookup(context.Background(), testKey+"x")
	h.c.Forget(testKey)

	if logs.Len() == 0 {
		t.Fatal("nothing was logged")
	}
	fp := testFingerprint()
	sawFingerprint := false
	for _, e := range logs.All() {
		text := e.Message + " " + fmt.Sprint(e.ContextMap())
		if strings.Contains(text, testKey) || strings.Contains(text, testKey[4:20]) {
			t.Fatalf("key in log entry %q: %s", e.Message, text)
		}
		if strings.Contains(text, fp) {
			sawFingerprint = true
		}
	}
	if !sawFingerprint {
		t.Fatal("no entry names the key by its fingerprint")
	}
}

func TestServiceNotAURL(t *testing.T) {
	for _, svc := range []string{"", "outstatic.com/api", "ftp://outstatic.com/api", "http://%zz"} {
		core, logs := observer.New(zapcore.ErrorLevel)
		c := New(Options{Service: svc, Logger: zap.New(core), Timeout: time.Second})
		wantState(t, c.Lookup(context.Background(), testKey), Unknown, false)
		c.Close()
		if logs.Len() != 1 {
			t.Errorf("service %q: %d error entries, want 1", svc, logs.Len())
		}
	}
}

func TestDefaultIntervalFitsShortTTL(t *testing.T) {
	c := New(Options{Service: "http://127.0.0.1:1", TTL: time.Second})
	defer c.Close()
	if c.interval != 100*time.Millisecond {
		t.Fatalf("interval %v", c.interval)
	}
	d := New(Options{Service: "http://127.0.0.1:1"})
	defer d.Close()
	if d.interval != DefaultInterval {
		t.Fatalf("interval %v", d.interval)
	}
}

// TestWatchedKeyRecoversFromEarlyFailure: a watched key whose first check
// fails (a service that is not listening yet) is checked again on the
// backoff, within seconds, not after NegativeTTL; a definite refusal still
// waits NegativeTTL.
func TestWatchedKeyRecoversFromEarlyFailure(t *testing.T) {
	tick := func(o *Options) { o.Interval = 10 * time.Millisecond }
	h := newHarness(t, tick)
	h.svc.Set(fakeservice.KeyError)
	h.c.Watch(testKey)
	wantState(t, h.waitApplied(), Unknown, false)
	h.svc.Set(fakeservice.KeyPro)
	h.clk.Advance(backoffMin)
	wantState(t, h.waitApplied(), Valid, false)
	wantState(t, h.lookup(), Valid, false)

	h2 := newHarness(t, tick)
	h2.svc.Set(fakeservice.KeyUnauthorized)
	h2.c.Watch(testKey)
	wantState(t, h2.waitApplied(), Invalid, false)
	h2.svc.Set(fakeservice.KeyPro)
	h2.clk.Advance(backoffMin)
	h2.assertNoCheck()
	h2.clk.Advance(testNegTTL)
	wantState(t, h2.waitApplied(), Valid, false)
}

// Answers asks the service even with a fresh verdict cached, records
// what it says, and tells an answer (200 or 401) from an outage (a 5xx, a
// dropped connection).
func TestAnswersAsksTheServiceNow(t *testing.T) {
	h := newHarness(t, nil)
	wantState(t, h.cold(), Valid, false)
	for _, tc := range []struct {
		mode fakeservice.KeyCheckMode
		want bool
	}{
		{fakeservice.KeyPro, true},
		{fakeservice.KeyError, false},
		{fakeservice.KeyClose, false},
		{fakeservice.KeyUnauthorized, true},
	} {
		h.svc.Set(tc.mode)
		before := h.svc.Count()
		if got := h.c.Answers(context.Background(), testKey); got != tc.want {
			t.Errorf("service %v: Answers = %v, want %v", tc.mode, got, tc.want)
		}
		if h.svc.Count() == before { // a dropped connection is tried twice by the HTTP client
			t.Errorf("service %v: no request", tc.mode)
		}
		h.waitApplied()
	}
	// The 401 was recorded: the key is Invalid at once.
	wantState(t, h.lookup(), Invalid, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.svc.Set(fakeservice.KeyHang)
	if h.c.Answers(ctx, testKey) {
		t.Error("Answers with its context ended: true")
	}
	if h.c.Answers(context.Background(), "not a key") {
		t.Error("Answers for a malformed key: true")
	}
}
