package native

import (
	"context"
	"slices"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// TestNativeKeyCheckAnswersOrigins: the key check answers, beside the
// fields the stock client reads, the project's callback origins (the
// configured ones, then the stored ones) and its plan; an origin added or
// removed on one instance changes the answer of the other once its view
// of the stored origins is older than roster.OriginsTTL.
func TestNativeKeyCheckAnswersOrigins(t *testing.T) {
	env := newNativeEnv(t, nil)
	origins := func(i int) []string {
		t.Helper()
		status, out, _ := env.call(t, i, "GET", "/outstatic/project", env.key, nil)
		if status != 200 || out["project_slug"] != "blog" || out["is_pro"] != true || out["plan"] != "pro" {
			t.Fatalf("key check on %d: %d %v", i, status, out)
		}
		list, ok := out["callback_origins"].([]any)
		if !ok {
			t.Fatalf("key check on %d: callback_origins %T %v", i, out["callback_origins"], out["callback_origins"])
		}
		var names []string
		for _, o := range list {
			names = append(names, o.(string))
		}
		return names
	}
	configured := nativeSiteOrig + "/outstatic"
	preview := "https://Preview.Example.com:443/outstatic"
	if got := origins(1); !slices.Equal(got, []string{configured}) {
		t.Fatalf("before any change: %v", got)
	}
	canon, err := env.relays[0].Roster().AddOrigin(context.Background(), "blog", preview)
	if err != nil || canon != "https://preview.example.com/outstatic" {
		t.Fatalf("AddOrigin: %q %v", canon, err)
	}
	// the instance that made the change answers it at once
	if got := origins(0); !slices.Equal(got, []string{configured, canon}) {
		t.Fatalf("on the instance that added it: %v", got)
	}
	env.advance(roster.OriginsTTL)
	if got := origins(1); !slices.Equal(got, []string{configured, canon}) {
		t.Fatalf("on the other instance, roster.OriginsTTL later: %v", got)
	}
	if err := env.relays[1].Roster().RemoveOrigin(context.Background(), "blog", canon); err != nil {
		t.Fatal(err)
	}
	env.advance(roster.OriginsTTL)
	for i := range env.relays {
		if got := origins(i); !slices.Equal(got, []string{configured}) {
			t.Fatalf("on %d after the removal: %v", i, got)
		}
	}
}

// TestNativeKeyCheckFreePlan: a project without plan pro answers plan
// "free", with is_pro false.
func TestNativeKeyCheckFreePlan(t *testing.T) {
	env := newNativeEnv(t, func(_ int, c *NativeConfig) { c.Projects[0].Pro = false })
	status, out, _ := env.call(t, 0, "GET", "/outstatic/project", env.key, nil)
	if status != 200 || out["is_pro"] != false || out["plan"] != "free" {
		t.Fatalf("key check: %d %v", status, out)
	}
}
