package native

import (
	"context"
	"errors"
	"net/http"
	"testing"
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
	canon, err := env.relays[0].AddOrigin(ctx, "blog", "HTTPS://Preview.Example.com:443/outstatic")
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
	env.advance(originsTTL)
	if st := exchange(1); st != http.StatusOK {
		t.Fatalf("other instance after originsTTL: status %d, want 200", st)
	}
	list, err := env.relays[1].Origins(ctx, "blog")
	if err != nil || len(list.Configured) != 1 || len(list.Stored) != 1 || list.Stored[0] != canon {
		t.Fatalf("Origins = %+v, %v", list, err)
	}
	if err := env.relays[1].RemoveOrigin(ctx, "blog", canon); err != nil {
		t.Fatal(err)
	}
	env.advance(originsTTL)
	if st := exchange(0); st != http.StatusBadRequest {
		t.Fatalf("after removal: status %d, want 400", st)
	}
}

func TestAddOriginRefusals(t *testing.T) {
	env := newNativeEnv(t, nil)
	n, ctx := env.relays[0], context.Background()
	var refused *OriginRefused
	for _, bad := range []string{"https://x.example.com", "https://x.example.com/outstatic?a", "ftp://x.example.com/outstatic", "https://u@x.example.com/outstatic"} {
		if _, err := n.AddOrigin(ctx, "blog", bad); !errors.As(err, &refused) {
			t.Errorf("AddOrigin(%q) = %v, want *OriginRefused", bad, err)
		}
	}
	if _, err := n.AddOrigin(ctx, "blog", nativeSiteOrig+"/outstatic"); !errors.Is(err, ErrOriginExists) {
		t.Errorf("adding the Caddyfile's origin: %v, want ErrOriginExists", err)
	}
	if _, err := n.AddOrigin(ctx, "blog", "https://a.example.com/outstatic"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddOrigin(ctx, "blog", "https://A.example.com/outstatic"); !errors.Is(err, ErrOriginExists) {
		t.Errorf("adding it again: %v, want ErrOriginExists", err)
	}
	if err := n.RemoveOrigin(ctx, "blog", nativeSiteOrig+"/outstatic"); !errors.Is(err, ErrOriginConfigured) {
		t.Errorf("removing the Caddyfile's origin: %v", err)
	}
	if err := n.RemoveOrigin(ctx, "blog", "https://b.example.com/outstatic"); !errors.Is(err, ErrOriginUnknown) {
		t.Errorf("removing an unknown origin: %v", err)
	}
	if _, err := n.AddOrigin(ctx, "nope", "https://a.example.com/outstatic"); !errors.Is(err, ErrUnknownProject) {
		t.Errorf("unknown project: %v", err)
	}
}
