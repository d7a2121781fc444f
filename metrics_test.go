package outstatic

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// TestMetrics: the guard counts refusals by reason and the relay its calls
// by endpoint and status class, on the config's registry, which two guards
// of one config share.
func TestMetrics(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	var guards []*Guard
	for i := 0; i < 2; i++ {
		g := &Guard{CallbackOrigins: []string{"https://blog.example.com/outstatic"}}
		if err := g.Provision(ctx); err != nil {
			t.Fatalf("guard %d: %v", i, err)
		}
		g.edge.SetLogger(zaptest.NewLogger(t))
		guards = append(guards, g)
	}
	serve(t, guards[0], request("GET", "https://evil.example/api/outstatic/login", false), &recordingNext{})
	serve(t, guards[1], request("GET", "https://evil.example/api/outstatic/user", false), &recordingNext{})
	serve(t, guards[1], request("GET", "https://blog.example.com/api//outstatic/login", false), &recordingNext{})
	m := guards[0].metrics
	if m.refusals != guards[1].metrics.refusals {
		t.Fatal("two guards of one config registered apart")
	}
	if got := testutil.ToFloat64(m.refusals.WithLabelValues("public origin is not a callback origin")); got != 2 {
		t.Errorf("origin refusals = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.refusals.WithLabelValues("auth route path is not canonical")); got != 1 {
		t.Errorf("path refusals = %v, want 1", got)
	}

	svc := httptest.NewServer(http.NotFoundHandler())
	defer svc.Close()
	t.Setenv("OUTSTATIC_TEST_KEY", testKey)
	rl := &Relay{Upstream: svc.URL + "/api", APIKeys: []string{"{env.OUTSTATIC_TEST_KEY}"},
		CallbackOrigins: []string{"https://blog.example.com/outstatic"}}
	if err := rl.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	defer rl.Cleanup()
	for _, path := range []string{"/outstatic/project", "/outstatic/project", "/nope"} {
		_ = rl.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil), nil)
	}
	if got := testutil.ToFloat64(m.relayCalls.WithLabelValues("project", "4xx")); got != 2 {
		t.Errorf("project 4xx calls = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.relayCalls.WithLabelValues("other", "4xx")); got != 1 {
		t.Errorf("other 4xx calls = %v, want 1", got)
	}
}

// TestRelayStreamsThroughAdapter: the relay's Caddy handler (with its
// metrics recorder) passes an AI completion on as it arrives.
func TestRelayStreamsThroughAdapter(t *testing.T) {
	release := make(chan struct{})
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("first "))
		http.NewResponseController(w).Flush()
		<-release
		_, _ = w.Write([]byte("second"))
	}))
	defer svc.Close()
	defer close(release)
	t.Setenv("OUTSTATIC_TEST_KEY", testKey)
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	rl := &Relay{Upstream: svc.URL + "/api", APIKeys: []string{"{env.OUTSTATIC_TEST_KEY}"},
		CallbackOrigins: []string{"https://blog.example.com/outstatic"}}
	if err := rl.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	defer rl.Cleanup()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _ = rl.ServeHTTP(w, r, nil) }))
	defer front.Close()
	req, _ := http.NewRequest("POST", front.URL+"/outstatic/generate", strings.NewReader(`{"prompt":"hi"}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	// bounded, so that a held stream fails the test instead of hanging it
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(res.Body, buf); err != nil || string(buf) != "first " {
		t.Fatalf("first chunk %q, %v (the relay held the stream)", buf, err)
	}
}

// TestMetricsKeyChecks: the pooled verdict cache counts its checks and
// its stale serves on the registry of the config provisioned last.
func TestMetricsKeyChecks(t *testing.T) {
	var failing atomic.Bool
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"project_id":"p1","project_slug":"blog","account_slug":"acme","repo_owner":"acme","repo_slug":"blog","monorepo_path":"","is_pro":true}`)
	}))
	defer svc.Close()
	t.Setenv("OUTSTATIC_TEST_KEY", testKey)
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	g := &Guard{CallbackOrigins: []string{"https://blog.example.com/outstatic"}, APIKey: "{env.OUTSTATIC_TEST_KEY}",
		Service: svc.URL + "/metrics-key-checks", KeyCheck: KeyCheck{CacheTTL: caddy.Duration(300 * time.Millisecond)}}
	if err := g.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	defer g.Cleanup()
	m := g.metrics
	waitCount := func(what string, col prometheus.Collector, want float64) {
		t.Helper()
		testwait.Until(t, fmt.Sprintf("%s reaching %v", what, want), func() bool { return testutil.ToFloat64(col) >= want })
	}
	waitCount("ok checks", m.keyChecks.WithLabelValues("ok"), 1)
	failing.Store(true)
	time.Sleep(400 * time.Millisecond) // past the TTL
	serve(t, g, request("GET", "https://blog.example.com/", false), &recordingNext{})
	waitCount("stale checks", m.keyChecks.WithLabelValues("stale"), 1)
	waitCount("stale serves", m.staleServes.WithLabelValues(), 1)
}
