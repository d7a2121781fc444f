package roster

import (
	"context"
	"errors"
	"testing"
)

func TestAddOriginRefusals(t *testing.T) {
	env := newRosterEnv(t, nil)
	n, ctx := env.rosters[0], context.Background()
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
