package native

import (
	"context"
	"net/http"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// Stored callback origins join the Caddyfile's: a callback on an added
// origin is accepted, on every instance within originsTTL, and refused
// again once the origin is removed.
func TestStoredOriginsAcceptCallbacksOnEveryInstance(t *testing.T) {
	env := newNativeEnv(t, nil)
	ctx := context.Background()
	const callback = "https://preview.example.com/outstatic/api/outstatic/callback"
	exchange := func(i int) int {
		st, _, _ := env.call(t, i, http.MethodPost, "/outstatic/auth/github-exchange", env.key, map[string]string{"callback_url": callback})
		return st
	}
	if st := exchange(1); st != http.StatusBadRequest {
		t.Fatalf("callback on an unknown origin: status %d, want 400", st)
	}
	canon, err := env.relays[0].Roster().AddOrigin(ctx, "blog", "HTTPS://Preview.Example.com:443/outstatic")
	if err != nil || canon != "https://preview.example.com/outstatic" {
		t.Fatalf("AddOrigin = %q, %v", canon, err)
	}
	if st := exchange(0); st != http.StatusOK {
		t.Fatalf("instance that added it: status %d, want 200", st)
	}
	// Instance 1 read the stored origins a moment ago: it may keep that
	// view for originsTTL, never longer.
	if st := exchange(1); st != http.StatusBadRequest {
		t.Fatalf("other instance within originsTTL: status %d, want its cached 400", st)
	}
	env.advance(roster.OriginsTTL)
	if st := exchange(1); st != http.StatusOK {
		t.Fatalf("other instance after originsTTL: status %d, want 200", st)
	}
	list, err := env.relays[1].Roster().Origins(ctx, "blog")
	if err != nil || len(list.Configured) != 1 || len(list.Stored) != 1 || list.Stored[0] != canon {
		t.Fatalf("Origins = %+v, %v", list, err)
	}
	if err := env.relays[1].Roster().RemoveOrigin(ctx, "blog", canon); err != nil {
		t.Fatal(err)
	}
	env.advance(roster.OriginsTTL)
	if st := exchange(0); st != http.StatusBadRequest {
		t.Fatalf("after removal: status %d, want 400", st)
	}
}
