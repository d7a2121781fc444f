package pages

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testclock"
	"github.com/caddy-outstatic/caddy-outstatic/relay/native"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// TestReaddedMemberSignsInAgain: a stored member removed and added again
// later is a new membership, which a pages session signed in before the
// removal does not carry (its cookie, copied meanwhile, opens no project
// page); a sign-in after it does.
func TestReaddedMemberSignsInAgain(t *testing.T) {
	clock := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	env := newPagesEnvWith(t, func(cfg *native.NativeConfig) { cfg.Now = clock.Now })
	ctx := context.Background()
	r := env.relay.Roster()
	op := roster.OperatorActor("test")
	if _, err := r.AddMember(ctx, "blog", "carl", "manager", op); err != nil {
		t.Fatal(err)
	}
	const page = "/home/acme/blog/members"
	old := env.browser(t)
	old.signIn("carl", "carl@example.com")
	if st, _, _ := old.do(http.MethodGet, page, nil); st != http.StatusOK {
		t.Fatalf("a manager's members page: %d, want 200", st)
	}
	clock.Advance(10 * time.Minute)
	if err := r.RemoveMember(ctx, "blog", "carl", op); err != nil {
		t.Fatal(err)
	}
	if st, body, _ := old.do(http.MethodGet, page, nil); st != http.StatusForbidden || !strings.Contains(body, "Not a member") {
		t.Fatalf("after the removal: %d, want 403 Not a member", st)
	}
	clock.Advance(10 * time.Minute)
	if _, err := r.AddMember(ctx, "blog", "carl", "manager", op); err != nil {
		t.Fatal(err)
	}
	if st, body, _ := old.do(http.MethodGet, page, nil); st != http.StatusForbidden || !strings.Contains(body, "Not a member") {
		t.Errorf("a session from before the removal, after the member was added again: %d, want 403 Not a member: %s", st, body)
	}
	fresh := env.browser(t)
	fresh.signIn("carl", "carl@example.com")
	clock.Advance(10 * time.Minute)
	if _, err := r.SetRole(ctx, "blog", "carl", "admin", op); err != nil {
		t.Fatal(err)
	}
	if st, body, _ := fresh.do(http.MethodGet, page, nil); st != http.StatusOK {
		t.Errorf("a sign-in after the new membership, after a role change: %d %s, want 200", st, body)
	}
}
