package roster

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// failingMembers is a store whose writes of blog's members record fail
// while failing is set.
type failingMembers struct {
	store.Store
	failing atomic.Bool
}

func (s *failingMembers) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if s.failing.Load() && key == membersName("blog") {
		return errors.New("the store is failing")
	}
	return s.Store.Put(ctx, key, value, ttl)
}

// TestAdmitGivesBackWhatAFailureLeft: a login takes the invitations of
// all its addresses at once; when accepting one fails (the store), the
// login fails and the invitations not yet accepted are pending again, as
// if never taken, for the next login to accept.
func TestAdmitGivesBackWhatAFailureLeft(t *testing.T) {
	storeKinds(t, func(t *testing.T, edit func(*Config)) {
		env, st := wrappedEnv(t, edit, func(st store.Store) *failingMembers { return &failingMembers{Store: st} })
		r, ctx := env.rosters[0], context.Background()
		for addr, role := range map[string]string{"dave@example.com": "editor", "dave@example.org": "author"} {
			if _, _, _, err := r.Invite(ctx, "blog", addr, role, OperatorActor("ops")); err != nil {
				t.Fatal(err)
			}
		}
		emails := []string{"dave@example.com", "dave@example.org"}
		st.failing.Store(true)
		if role, err := r.Admit(ctx, blog(r), "dave", emails); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("a login whose acceptance failed: %q, %v; want ErrUnavailable", role, err)
		}
		st.failing.Store(false)
		pending, err := env.rosters[1].Invitations(ctx, "blog")
		if err != nil || len(pending) != 1 || pending[0].Email != "dave@example.org" || pending[0].Role != "author" {
			t.Fatalf("pending after the failed login: %+v, %v; want the invitation not yet accepted", pending, err)
		}
		if role, err := env.rosters[1].Admit(ctx, blog(env.rosters[1]), "dave", emails); err != nil || role != "author" {
			t.Fatalf("the next login: %q, %v; want the invitation given back accepted", role, err)
		}
	})
}
