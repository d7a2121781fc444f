package roster

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/store"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

const nativeSiteOrig = "https://blog.example.com"

// rosterEnv is two instances' rosters sharing one store and one clock,
// with a stored key of blog's.
type rosterEnv struct {
	rosters [2]*Roster
	st      store.Store
	key     string
	now     atomic.Int64 // unix nanos
}

// testProject is blog, with a member by login and one by address.
func testProject() *Project {
	o, err := validate.ParseOrigin(nativeSiteOrig + "/outstatic")
	if err != nil {
		panic(err)
	}
	return &Project{
		Slug: "blog", RepoOwner: "acme", RepoSlug: "blog", Pro: true,
		Targets: validate.Targets{Origins: []validate.Origin{o}},
		Members: map[string]string{"ada": "owner", "bob@example.com": "editor"},
	}
}

// newRosterEnv builds the two rosters on a file store, or on what edit
// sets; edit may add projects too (each roster gets its own copies).
func newRosterEnv(t *testing.T, edit func(c *Config)) *rosterEnv {
	t.Helper()
	env := &rosterEnv{}
	env.now.Store(time.Now().UnixNano())
	env.st = store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "outstatic")
	for i := range env.rosters {
		cfg := Config{Projects: []*Project{testProject()}, Store: env.st,
			Now: func() time.Time { return time.Unix(0, env.now.Load()) }}
		if edit != nil {
			edit(&cfg)
		}
		env.st = cfg.Store
		r, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		env.rosters[i] = r
	}
	key, _, err := env.rosters[0].CreateKey(context.Background(), "blog", false)
	if err != nil {
		t.Fatal(err)
	}
	env.key = key
	return env
}

// storeKinds runs f on the file store and on a real Redis.
func storeKinds(t *testing.T, f func(t *testing.T, edit func(*Config))) {
	t.Run("file", func(t *testing.T) { f(t, nil) })
	t.Run("redis", func(t *testing.T) {
		srv := testredis.Start(t)
		st := store.NewRedis(testredis.Client(t, srv.Addr), "outstatic")
		f(t, func(c *Config) { c.Store = st })
	})
}

// errNotAdmitted: a login of the address would not be admitted.
var errNotAdmitted = errors.New("not admitted")

// admit is the membership check of a login of a verified address, as
// every login ends: errNotAdmitted when it is not a member's.
func admit(ctx context.Context, r *Roster, email string) error {
	role, err := r.Admit(ctx, blog(r), "", []string{email})
	if err == nil && role == "" {
		err = errNotAdmitted
	}
	return err
}

// blog is r's project blog.
func blog(r *Roster) *Project {
	p, err := r.Project(context.Background(), "blog")
	if err != nil || p == nil {
		panic(fmt.Sprintf("no project blog: %v", err))
	}
	return p
}
