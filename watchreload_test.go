package outstatic

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
	"github.com/caddy-outstatic/caddy-outstatic/verdict"

	"github.com/caddyserver/caddy/v2"
)

// TestReloadStopsWatchingDroppedKey: guards sharing a pooled verdict cache
// watch their keys until the last guard configured with one is cleaned
// up; a key that a reload rotates out is no longer checked by the loop.
func TestReloadStopsWatchingDroppedKey(t *testing.T) {
	const newKey = "ost_live_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
	svc := fakeservice.New(testKey, true, "https://blog.example.com/outstatic")
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	t.Cleanup(svc.Release)
	svc.BaseURL = srv.URL
	t.Setenv("OUTSTATIC_TEST_KEY", testKey)
	t.Setenv("OUTSTATIC_TEST_NEW_KEY", newKey)
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	provision := func(key string) *Guard {
		t.Helper()
		g := &Guard{CallbackOrigins: []string{"https://blog.example.com/outstatic"}, APIKey: key, Service: srv.URL + "/api"}
		if err := g.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = g.Cleanup() })
		return g
	}
	// Two sites with the old key, then a reload that rotates one of them.
	site := provision("{env.OUTSTATIC_TEST_KEY}")
	other := provision("{env.OUTSTATIC_TEST_KEY}")
	rotated := provision("{env.OUTSTATIC_TEST_NEW_KEY}")
	var cache *verdict.Cache
	verdictCaches.Range(func(k, v any) bool {
		if k == rotated.poolKey {
			cache = v.(pooledVerdicts).Cache
		}
		return true
	})
	if cache == nil || site.poolKey != rotated.poolKey {
		t.Fatal("the guards do not share a pooled cache")
	}

	if err := site.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if !cache.Watching(testKey) || !cache.Watching(newKey) {
		t.Fatal("a key still configured is no longer watched")
	}
	if err := other.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if cache.Watching(testKey) {
		t.Fatal("the rotated-out key is still watched")
	}
	if !cache.Watching(newKey) {
		t.Fatal("the new key is no longer watched")
	}
}
