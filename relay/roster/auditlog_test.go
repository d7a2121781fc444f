package roster

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
)

// TestEveryChangeRecordedOnce: each key, member, invitation and origin
// change of blog is in its audit log exactly once, with its kind, and no
// record holds a key or an invitation's link.
func TestEveryChangeRecordedOnce(t *testing.T) {
	env := newRosterEnv(t, nil)
	ctx := context.Background()
	r := env.rosters[0]
	op := OperatorActor("cli:root@host")
	rotated, _, err := r.CreateKey(ctx, "blog", true)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.RevokeKey(ctx, "blog"))
	_, err = r.AddMember(ctx, "blog", "zed", "author", op)
	must(err)
	_, err = r.SetRole(ctx, "blog", "zed", "editor", op)
	must(err)
	must(r.RemoveMember(ctx, "blog", "zed", op))
	_, linkLin, _, err := r.Invite(ctx, "blog", "lin@example.com", "author", op)
	must(err)
	must(r.RevokeInvitation(ctx, "blog", "lin@example.com", op))
	_, linkPat, _, err := r.Invite(ctx, "blog", "pat@example.com", "author", op)
	must(err)
	must(admit(ctx, r, "pat@example.com"))
	_, err = r.AddOrigin(ctx, "blog", "https://preview.example.com/outstatic")
	must(err)
	must(r.RemoveOrigin(ctx, "blog", "https://preview.example.com/outstatic"))
	if _, err := r.AddMember(ctx, "blog", "ada", "author", op); err == nil {
		t.Fatal("ada, of the Caddyfile, was changed")
	}

	page, err := r.AuditEvents(ctx, audit.Query{Projects: []string{"blog"}})
	if err != nil {
		t.Fatal(err)
	}
	count := map[audit.Kind]int{}
	for _, e := range page.Events {
		count[e.Kind]++
		data, _ := json.Marshal(e)
		for _, secret := range []string{env.key, rotated, linkLin, linkPat} {
			if secret != "" && strings.Contains(string(data), secret) {
				t.Fatalf("a record holds a secret: %s", data)
			}
		}
	}
	for _, k := range []audit.Kind{audit.KeyCreated, audit.KeyRotated, audit.KeyRevoked, audit.MemberAdded, audit.MemberRole,
		audit.MemberRemoved, audit.InvitationRevoked, audit.InvitationAccepted, audit.OriginAdded, audit.OriginRemoved, audit.ChangeRefused} {
		if count[k] != 1 {
			t.Errorf("%s recorded %d times, want 1 (all: %v)", k, count[k], count)
		}
	}
	if count[audit.InvitationSent] != 2 {
		t.Errorf("invitation-sent recorded %d times, want 2", count[audit.InvitationSent])
	}
}
