package native

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// TestNativeKeyChangeSeenWithinASecond: a rotation and a revocation on one
// instance are refused at once there and, on the other instance, which
// holds the old key in its memory, once a second has passed on the relays'
// clock; the new key works on both.
func TestNativeKeyChangeSeenWithinASecond(t *testing.T) {
	storeKinds(t, func(t *testing.T, edit func(int, *NativeConfig)) {
		env := newNativeEnv(t, edit)
		ctx := context.Background()
		for i := range env.relays { // both remember the key
			if status, _, _ := env.call(t, i, "GET", "/outstatic/project", env.key, nil); status != 200 {
				t.Fatalf("instance %d: key check: %d", i, status)
			}
		}
		rotated, _, err := env.relays[1].Roster().CreateKey(ctx, "blog", true)
		if err != nil {
			t.Fatal(err)
		}
		if status, _, _ := env.call(t, 1, "GET", "/outstatic/project", env.key, nil); status != 401 {
			t.Fatalf("the instance that rotated accepts the old key: %d", status)
		}
		env.advance(time.Second)
		for i := range env.relays {
			if status, _, _ := env.call(t, i, "GET", "/outstatic/project", env.key, nil); status != 401 {
				t.Errorf("instance %d: the old key a second after the rotation: %d", i, status)
			}
			if status, _, _ := env.call(t, i, "GET", "/outstatic/project", rotated, nil); status != 200 {
				t.Errorf("instance %d: the new key: %d", i, status)
			}
		}
		if err := env.relays[0].Roster().RevokeKey(ctx, "blog"); err != nil {
			t.Fatal(err)
		}
		if status, _, _ := env.call(t, 0, "GET", "/outstatic/project", rotated, nil); status != 401 {
			t.Fatalf("the instance that revoked accepts the key: %d", status)
		}
		env.advance(time.Second)
		if status, _, _ := env.call(t, 1, "GET", "/outstatic/project", rotated, nil); status != 401 {
			t.Errorf("the other instance, a second after the revocation: %d", status)
		}
	})
}

// TestNativeKeyCheck10000Projects: with 10,000 projects (blog and 9,999
// more) a known key costs
// no store read, an unknown key one, as with one project.
func TestNativeKeyCheck10000Projects(t *testing.T) {
	counting := &countingStore{Store: store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "outstatic")}
	env := newNativeEnv(t, func(i int, c *NativeConfig) {
		c.Store = counting
		c.Projects = append(c.Projects, manyProjects(9_999)...)
	})
	ctx := context.Background()
	keys := map[string]string{}
	for _, slug := range []string{"site00000", "site05000", "site09998"} {
		key, _, err := env.relays[0].Roster().CreateKey(ctx, slug, false)
		if err != nil {
			t.Fatal(err)
		}
		keys[slug] = key
	}
	// The first unknown key of an instance gives every stored key record
	// its hash record, once (keys.go, writeHashRecords): a read per
	// project, not part of what is measured here.
	first, _, _, _ := relay.NewKey()
	if status, _, _ := env.call(t, 0, "GET", "/outstatic/project", first, nil); status != 401 {
		t.Fatalf("unknown key: %d", status)
	}
	for slug, key := range keys { // fills the memory
		if status, out, _ := env.call(t, 0, "GET", "/outstatic/project", key, nil); status != 200 || out["project_slug"] != slug {
			t.Fatalf("%s: %d %v", slug, status, out)
		}
	}
	before := counting.gets.Load()
	for i := 0; i < 30; i++ {
		for slug, key := range keys {
			if status, out, _ := env.call(t, 0, "GET", "/outstatic/project", key, nil); status != 200 || out["project_slug"] != slug {
				t.Fatalf("%s: %d %v", slug, status, out)
			}
		}
	}
	if reads := counting.gets.Load() - before; reads != 0 {
		t.Fatalf("%d store reads for 90 checks of known keys over 10,000 projects, want 0", reads)
	}
	unknown, _, _, _ := relay.NewKey()
	if status, _, _ := env.call(t, 0, "GET", "/outstatic/project", unknown, nil); status != 401 {
		t.Fatalf("unknown key: %d", status)
	}
	if reads := counting.gets.Load() - before; reads != 1 {
		t.Fatalf("%d store reads for an unknown key over 10,000 projects, want 1", reads)
	}
}

// manyProjects is n projects named site00000, site00001, ...
func manyProjects(n int) []Project {
	out := make([]Project, n)
	for i := range out {
		out[i] = nativeProject()
		out[i].Slug = fmt.Sprintf("site%05d", i)
	}
	return out
}
