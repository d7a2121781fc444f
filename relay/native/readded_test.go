package native

import (
	"context"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// TestNativeReaddedMemberGetsNoOldSession: removing a stored member ends
// their sessions for good. Adding them again later makes a new membership,
// which the sessions of logins before it do not carry (a refresh token
// copied while they were a member stays dead); a new login does.
func TestNativeReaddedMemberGetsNoOldSession(t *testing.T) {
	env := newNativeEnv(t, nil)
	env.gh.SetUser(fakegithub.User{Login: "carl", Name: "Carl", ID: 7,
		Emails: []fakegithub.Email{{Email: "carl@example.com", Primary: true, Verified: true}}})
	ctx := context.Background()
	r := env.relays[0].Roster()
	op := roster.OperatorActor("test")
	if _, err := r.AddMember(ctx, "blog", "carl", "editor", op); err != nil {
		t.Fatal(err)
	}
	old := env.sessionOn(t, 0)
	env.advance(10 * time.Minute)
	if err := r.RemoveMember(ctx, "blog", "carl", op); err != nil {
		t.Fatal(err)
	}
	if status, out := env.refresh(t, 0, str(old, "refresh_token")); status != 401 {
		t.Fatalf("refresh after the removal: %d %v", status, out)
	}
	env.advance(10 * time.Minute)
	if _, err := r.AddMember(ctx, "blog", "carl", "editor", op); err != nil {
		t.Fatal(err)
	}
	if status, out := env.refresh(t, 0, str(old, "refresh_token")); status != 401 {
		t.Fatalf("a refresh token from before the removal, after the member was added again: %d %v", status, out)
	}
	if status, body := env.parser(t, 0, str(old, "access_token")); status != 401 {
		t.Fatalf("an access token from before the removal, after the member was added again: %d %s", status, body)
	}
	// A login after the new membership works, and goes on working when
	// the member's role changes.
	fresh := env.sessionOn(t, 0)
	env.advance(10 * time.Minute)
	if _, err := r.SetRole(ctx, "blog", "carl", "author", op); err != nil {
		t.Fatal(err)
	}
	status, out := env.refresh(t, 0, str(fresh, "refresh_token"))
	if status != 200 {
		t.Fatalf("refresh of a login after the new membership: %d %v", status, out)
	}
	if status, body := env.parser(t, 0, str(out["session"].(map[string]any), "access_token")); status == 401 {
		t.Fatalf("parser with the refreshed session: %d %s", status, body)
	}
}
