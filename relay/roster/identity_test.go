package roster

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// An address is never matched as a login, nor a login as an address, and
// what does not parse is left out.
func TestUserKeys(t *testing.T) {
	got := userKeys("Ada", []string{"Bob@Example.com", "ada", "kim@ex\u212Aample.com", "", "x@b\u00FCcher.example"})
	if want := []string{"ada", "bob@example.com", "x@xn--bcher-kva.example"}; !slices.Equal(got, want) {
		t.Errorf("userKeys = %q, want %q", got, want)
	}
	if got := userKeys("ada@example.com", nil); len(got) != 0 {
		t.Errorf("an address as a login: %q", got)
	}
	many := make([]string, 2*MaxEmails)
	for i := range many {
		many[i] = strings.Repeat("a", i+1) + "@example.com"
	}
	if got := emailKeys(many); len(got) != MaxEmails || got[0] != "a@example.com" {
		t.Errorf("emailKeys keeps %d, first %q", len(got), got[0])
	}
}

// A members record written before the identity rule (names lowercased by
// Unicode rules) keeps working: ASCII names as they are, an IDN domain
// under its ASCII key, a name under its key winning over one that moves
// there, and a name that does not parse kept but matching no login.
func TestRekeyMembersOfOldRecords(t *testing.T) {
	env := newRosterEnv(t, nil)
	ctx := context.Background()
	old := memberRecord{Members: map[string]StoredMember{
		"lin@example.com":               {Who: "lin@example.com", Role: "author"},
		"jos\u00e9@b\u00fccher.example": {Who: "jos\u00e9@b\u00fccher.example", Role: "editor"},
		"x@xn--bcher-kva.example":       {Who: "x@xn--bcher-kva.example", Role: "author"},
		"x@b\u00fccher.example":         {Who: "x@b\u00fccher.example", Role: "owner"},
		"octo_cat":                      {Who: "octo_cat", Role: "owner"},
	}}
	data, _ := json.Marshal(old)
	if err := env.st.Put(ctx, membersName("blog"), data, 0); err != nil {
		t.Fatal(err)
	}
	p := blog(env.rosters[0])
	for _, c := range []struct {
		login, email, role string
	}{
		{"", "Lin@Example.com", "author"},
		{"", "jos\u00e9@B\u00fccher.example", "editor"},
		{"", "jos\u00e9@xn--bcher-kva.example", "editor"},
		{"", "JOS\u00c9@b\u00fccher.example", ""}, // "É" would have to fold to "é"
		{"", "x@b\u00fccher.example", "author"},   // the name under its key wins
		{"octo_cat", "", ""},
	} {
		var emails []string
		if c.email != "" {
			emails = []string{c.email}
		}
		if role, err := env.rosters[0].RoleSince(ctx, p, c.login, emails, time.Time{}); err != nil || role != c.role {
			t.Errorf("roleOf(%q, %q) = %q, %v; want %q", c.login, c.email, role, err, c.role)
		}
	}
	// A change writes the record back keyed by the rule.
	if _, err := env.rosters[0].AddMember(ctx, "blog", "new@example.com", "author", OperatorActor("test")); err != nil {
		t.Fatal(err)
	}
	raw, _ := env.st.Get(ctx, membersName("blog"))
	var rec memberRecord
	_ = json.Unmarshal(raw, &rec)
	if _, ok := rec.Members["jos\u00e9@xn--bcher-kva.example"]; !ok || rec.Members["jos\u00e9@xn--bcher-kva.example"].Who != "jos\u00e9@xn--bcher-kva.example" {
		t.Errorf("rewritten record: %v", rec.Members)
	}
	if _, ok := rec.Members["octo_cat"]; !ok {
		t.Error("a name that does not parse was dropped")
	}
}

// The admin API's and pages' member changes and invitations refuse a name
// that does not parse, and never reach a member by a look-alike.
func TestMemberChangesByKey(t *testing.T) {
	env := newRosterEnv(t, nil)
	ctx := context.Background()
	n := env.rosters[0]
	for _, who := range []string{"", "octo_cat", "\u212Aim", "bob@ex\u212Aample.com", "bob@example.com.", " bob@example.com", "bob@exa mple.com"} {
		if _, err := n.AddMember(ctx, "blog", who, "author", OperatorActor("test")); !errors.Is(err, ErrBadMember) {
			t.Errorf("AddMember(%q): %v, want ErrBadMember", who, err)
		}
		if _, _, _, err := n.Invite(ctx, "blog", who, "author", OperatorActor("test")); !errors.Is(err, ErrBadMember) {
			t.Errorf("Invite(%q): %v, want ErrBadMember", who, err)
		}
	}
	// bob@example.com is in the configuration, in any ASCII case only.
	if _, err := n.AddMember(ctx, "blog", "BOB@example.COM", "owner", OperatorActor("test")); !errors.Is(err, ErrConfigMember) {
		t.Errorf("AddMember of the configured member in capitals: %v", err)
	}
	if _, err := n.AddMember(ctx, "blog", "\uff42ob@example.com", "owner", OperatorActor("test")); err != nil {
		t.Fatalf("a fullwidth look-alike is someone else: %v", err)
	}
	if role, _ := n.RoleSince(ctx, blog(n), "", []string{"bob@example.com"}, time.Time{}); role != "editor" {
		t.Errorf("bob's role after a look-alike was added: %q", role)
	}
	if _, _, _, err := n.Invite(ctx, "blog", "Lin@Example.com", "author", OperatorActor("test")); err != nil {
		t.Fatal(err)
	}
	if err := n.RevokeInvitation(ctx, "blog", "l\u0131n@example.com", OperatorActor("test")); !errors.Is(err, ErrNoSuchInvitation) {
		t.Errorf("revoking a look-alike's invitation: %v", err)
	}
	if err := n.RevokeInvitation(ctx, "blog", "LIN@example.com", OperatorActor("test")); err != nil {
		t.Errorf("revoking in capitals: %v", err)
	}
}
