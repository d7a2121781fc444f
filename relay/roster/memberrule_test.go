package roster

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/mail"
	"github.com/caddy-outstatic/caddy-outstatic/protocol"
)

// memberRuleGrid is what the rule must answer, written out cell by cell
// (not computed): for each actor, each action (add, invite and accept
// with each role, a role change to each role, remove, revoke) on a target
// whose current role is the column's ("none": not a member, or for revoke
// no pending invitation; for revoke the column is the invitation's role).
// The project has two owners. Y allowed; F refused as not allowed (403);
// E a member already (409); N no such member or invitation (404).
// Columns: owner admin manager editor author none.
var memberRuleGrid = map[string]string{
	"owner": ownerGrid,
	"admin": `
		add-owner     E E E E E F
		add-admin     E E E E E Y
		add-manager   E E E E E Y
		add-editor    E E E E E Y
		add-author    E E E E E Y
		invite-owner  E E E E E F
		invite-admin  E E E E E Y
		invite-manager E E E E E Y
		invite-editor E E E E E Y
		invite-author E E E E E Y
		accept-owner  E E E E E F
		accept-admin  E E E E E Y
		accept-manager E E E E E Y
		accept-editor E E E E E Y
		accept-author E E E E E Y
		role-owner    F F F F F N
		role-admin    F Y Y Y Y N
		role-manager  F Y Y Y Y N
		role-editor   F Y Y Y Y N
		role-author   F Y Y Y Y N
		remove        F Y Y Y Y N
		revoke        F Y Y Y Y N`,
	// A manager has members.manage and invites.manage, not roles.manage:
	// no role change at all, whatever the target.
	"manager": `
		add-owner     E E E E E F
		add-admin     E E E E E F
		add-manager   E E E E E Y
		add-editor    E E E E E Y
		add-author    E E E E E Y
		invite-owner  E E E E E F
		invite-admin  E E E E E F
		invite-manager E E E E E Y
		invite-editor E E E E E Y
		invite-author E E E E E Y
		accept-owner  E E E E E F
		accept-admin  E E E E E F
		accept-manager E E E E E Y
		accept-editor E E E E E Y
		accept-author E E E E E Y
		role-owner    F F F F F F
		role-admin    F F F F F F
		role-manager  F F F F F F
		role-editor   F F F F F F
		role-author   F F F F F F
		remove        F F Y Y Y N
		revoke        F F Y Y Y N`,
	"editor": allCells("F"),
	"author": allCells("F"),
	"":       allCells("F"), // not a member
	// The operator (the admin API, the CLI) holds every permission and
	// grants any role, as an owner would; the last-owner rule still holds
	// (TestMemberRuleLastOwner).
	OperatorRole: ownerGrid,
}

// ownerGrid is an owner's part of the grid, and the operator's.
const ownerGrid = `
		add-owner     E E E E E Y
		add-admin     E E E E E Y
		add-manager   E E E E E Y
		add-editor    E E E E E Y
		add-author    E E E E E Y
		invite-owner  E E E E E Y
		invite-admin  E E E E E Y
		invite-manager E E E E E Y
		invite-editor E E E E E Y
		invite-author E E E E E Y
		accept-owner  E E E E E Y
		accept-admin  E E E E E Y
		accept-manager E E E E E Y
		accept-editor E E E E E Y
		accept-author E E E E E Y
		role-owner    Y Y Y Y Y N
		role-admin    Y Y Y Y Y N
		role-manager  Y Y Y Y Y N
		role-editor   Y Y Y Y Y N
		role-author   Y Y Y Y Y N
		remove        Y Y Y Y Y N
		revoke        Y Y Y Y Y N`

// memberRuleRows are the grid's rows, in order.
var memberRuleRows = []string{
	"add-owner", "add-admin", "add-manager", "add-editor", "add-author",
	"invite-owner", "invite-admin", "invite-manager", "invite-editor", "invite-author",
	"accept-owner", "accept-admin", "accept-manager", "accept-editor", "accept-author",
	"role-owner", "role-admin", "role-manager", "role-editor", "role-author", "remove", "revoke",
}

// memberRuleColumns are the target's current roles, "" for none.
var memberRuleColumns = []string{"owner", "admin", "manager", "editor", "author", ""}

func allCells(code string) string {
	var b strings.Builder
	for _, row := range memberRuleRows {
		b.WriteString("\n" + row + strings.Repeat(" "+code, len(memberRuleColumns)))
	}
	return b.String()
}

// memberRuleCode is the grid's letter for what the rule answered.
func memberRuleCode(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return "Y"
	}
	var refusal *MemberRefusal
	if !errors.As(err, &refusal) || refusal.Reason == "" {
		t.Fatalf("%v is not a refusal with a reason", err)
	}
	for code, class := range map[string]error{"F": ErrNotAllowed, "E": ErrMemberExists, "N": ErrNoSuchMember,
		"I": ErrNoSuchInvitation, "L": ErrLastOwner, "C": ErrConfigMember, "P": ErrInvitationPending, "B": ErrBadMember} {
		if errors.Is(err, class) {
			return code
		}
	}
	t.Fatalf("%v has no class", err)
	return ""
}

// parseRow splits "role-editor" into its action and new role.
func parseRow(row string) (MemberAction, string) {
	action, role, _ := strings.Cut(row, "-")
	return MemberAction(action), role
}

// TestMemberRuleTable checks the rule against every cell of the grid:
// every actor role × target role × action.
func TestMemberRuleTable(t *testing.T) {
	cells := 0
	for actor, grid := range memberRuleGrid {
		lines := strings.Split(strings.TrimSpace(grid), "\n")
		if len(lines) != len(memberRuleRows) {
			t.Fatalf("actor %q: %d rows, want %d", actor, len(lines), len(memberRuleRows))
		}
		for i, line := range lines {
			f := strings.Fields(line)
			if len(f) != 1+len(memberRuleColumns) || f[0] != memberRuleRows[i] {
				t.Fatalf("actor %q, row %d: %q", actor, i, line)
			}
			action, newRole := parseRow(f[0])
			for j, target := range memberRuleColumns {
				c := MemberChange{Action: action, Who: "x", Role: target, NewRole: newRole, Owners: 2}
				if action == ActionRevoke {
					c.Role, c.Invited = "", target
				}
				want := f[1+j]
				if want == "N" && action == ActionRevoke {
					want = "I"
				}
				if got := memberRuleCode(t, AuthorizeMemberChange(actor, c)); got != want {
					t.Errorf("%q %s on a target %q: %s, want %s (%v)", actor, f[0], target, got, want, AuthorizeMemberChange(actor, c))
				}
				cells++
			}
		}
	}
	if want := len(memberRuleGrid) * len(memberRuleRows) * len(memberRuleColumns); cells != want {
		t.Fatalf("%d cells checked, want %d", cells, want)
	}
}

// The last owner is neither removed nor demoted, by the operator either;
// a role or a permission that refuses the change refuses it first.
func TestMemberRuleLastOwner(t *testing.T) {
	for actor, want := range map[string]string{
		//          role-owner admin manager editor author, remove
		"owner":      "Y L L L L L",
		OperatorRole: "Y L L L L L",
		"admin":      "F F F F F F",
		"manager":    "F F F F F F",
		"editor":     "F F F F F F",
	} {
		var got []string
		for _, r := range protocol.Roles() {
			got = append(got, memberRuleCode(t, AuthorizeMemberChange(actor, MemberChange{Action: ActionRole, Who: "x", Role: "owner", NewRole: r, Owners: 1})))
		}
		got = append(got, memberRuleCode(t, AuthorizeMemberChange(actor, MemberChange{Action: ActionRemove, Who: "x", Role: "owner", Owners: 1})))
		if strings.Join(got, " ") != want {
			t.Errorf("%q on the last owner: %s, want %s", actor, strings.Join(got, " "), want)
		}
	}
	// With no owner left to protect, the rule does not invent one.
	if err := AuthorizeMemberChange(OperatorRole, MemberChange{Action: ActionRemove, Who: "x", Role: "admin", Owners: 0}); err != nil {
		t.Errorf("removing an admin of a project without owners: %v", err)
	}
}

// The Caddyfile's members, pending invitations, and roles that are no
// roles (the operator's included: it is never granted).
func TestMemberRuleTargets(t *testing.T) {
	for _, tc := range []struct {
		actor string
		c     MemberChange
		want  string
	}{
		{"owner", MemberChange{Action: ActionAdd, Role: "editor", Configured: true, NewRole: "author"}, "C"},
		{"owner", MemberChange{Action: ActionInvite, Role: "editor", Configured: true, NewRole: "author"}, "C"},
		{"owner", MemberChange{Action: ActionAccept, Role: "editor", Configured: true, NewRole: "author"}, "C"},
		{"owner", MemberChange{Action: ActionRole, Role: "editor", Configured: true, NewRole: "author"}, "C"},
		{"owner", MemberChange{Action: ActionRemove, Role: "editor", Configured: true}, "C"},
		{OperatorRole, MemberChange{Action: ActionRemove, Role: "owner", Configured: true, Owners: 3}, "C"},
		{"manager", MemberChange{Action: ActionRole, Role: "author", Configured: true, NewRole: "editor"}, "F"},
		{"owner", MemberChange{Action: ActionInvite, Invited: "author", NewRole: "editor"}, "P"},
		{"editor", MemberChange{Action: ActionInvite, Invited: "author", NewRole: "editor"}, "F"},
		{"owner", MemberChange{Action: ActionAccept, Invited: "author", NewRole: "editor"}, "Y"},
		{"owner", MemberChange{Action: ActionAdd, NewRole: "boss"}, "B"},
		{OperatorRole, MemberChange{Action: ActionAdd, NewRole: OperatorRole}, "B"},
		{OperatorRole, MemberChange{Action: ActionRole, Role: "author", NewRole: OperatorRole}, "B"},
		{"owner", MemberChange{Action: "promote", NewRole: "author"}, "F"},
		{"boss", MemberChange{Action: ActionAdd, NewRole: "author"}, "F"},
	} {
		tc.c.Who = "x"
		if got := memberRuleCode(t, AuthorizeMemberChange(tc.actor, tc.c)); got != tc.want {
			t.Errorf("%q %+v: %s, want %s", tc.actor, tc.c, got, tc.want)
		}
	}
}

// The doors ask the rule with the roles as they are when the change is
// made: a manager lowered since, a target raised since, an inviter lowered
// or removed before the invitation is accepted. Concurrent adds of one
// name make one member, with one role.
func TestMemberChangesJudgedAsTheyAre(t *testing.T) {
	env := newRosterEnv(t, nil)
	ctx, n := context.Background(), env.rosters[0]
	op := OperatorActor("test")
	mia := Actor{Name: "mia", Login: "MIA"}
	for who, role := range map[string]string{"mia": "manager", "olga": "author"} {
		if _, err := n.AddMember(ctx, "blog", who, role, op); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.AddMember(ctx, "blog", "Olga", "owner", mia); !errors.Is(err, ErrMemberExists) {
		t.Fatalf("re-adding olga: %v", err)
	}
	if _, err := n.SetRole(ctx, "blog", "olga", "owner", op); err != nil {
		t.Fatal(err)
	}
	// The form mia saw offered to remove olga, an author then.
	if err := n.RemoveMember(ctx, "blog", "olga", mia); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("mia removing olga, an owner now: %v", err)
	}
	// mia, by her verified address only, invites two people, then is
	// lowered: her invitations grant nothing any more.
	mia = Actor{Name: "mia", Emails: []string{"Mia@Example.com"}}
	if _, err := n.AddMember(ctx, "blog", "mia@example.com", "manager", op); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"nia@example.com", "ola@example.com"} {
		if _, _, _, err := n.Invite(ctx, "blog", who, "manager", mia); err != nil {
			t.Fatalf("inviting %s: %v", who, err)
		}
	}
	if _, err := n.SetRole(ctx, "blog", "mia@example.com", "editor", op); err != nil {
		t.Fatal(err)
	}
	if err := admit(ctx, n, "nia@example.com"); !errors.Is(err, errNotAdmitted) {
		t.Fatalf("nia's login after her inviter was lowered: %v", err)
	}
	if err := n.RemoveMember(ctx, "blog", "mia@example.com", op); err != nil {
		t.Fatal(err)
	}
	if err := admit(ctx, n, "ola@example.com"); !errors.Is(err, errNotAdmitted) {
		t.Fatalf("ola's login after her inviter was removed: %v", err)
	}
	// An invitation recorded without its inviter is void; one of an
	// address that became a member meanwhile leaves their role as it is.
	legacy, _ := json.Marshal(Invitation{Email: "old@example.com", Role: "owner", By: "ada"})
	if err := env.st.Put(ctx, inviteName("blog", "old@example.com"), legacy, mail.InvitationValidity); err != nil {
		t.Fatal(err)
	}
	if err := admit(ctx, n, "old@example.com"); !errors.Is(err, errNotAdmitted) {
		t.Fatalf("an invitation without its inviter: %v", err)
	}
	if _, _, _, err := n.Invite(ctx, "blog", "pat@example.com", "admin", op); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := n.Invite(ctx, "blog", "pat@example.com", "owner", op); !errors.Is(err, ErrInvitationPending) {
		t.Fatalf("a second invitation of pat: %v", err)
	}
	if _, err := n.AddMember(ctx, "blog", "pat@example.com", "author", op); err != nil {
		t.Fatal(err)
	}
	if err := admit(ctx, n, "pat@example.com"); err != nil {
		t.Fatal(err)
	}
	if role, _ := n.RoleSince(ctx, blog(n), "", []string{"pat@example.com"}, time.Time{}); role != "author" {
		t.Fatalf("pat is %q after an old invitation, want author", role)
	}
	log, err := n.MemberLog(ctx, "blog")
	var void int
	for _, e := range log {
		if strings.Contains(e.What, "is void") {
			void++
		}
	}
	if err != nil || void != 4 {
		t.Fatalf("%d void invitations logged, want 4 (%v)", void, err)
	}

	// Eight doors add zed at once, each with a role: one wins, the others
	// are told zed is a member already, and the winner's role stays.
	var wg sync.WaitGroup
	roles := []string{"owner", "admin", "manager", "editor", "author", "owner", "editor", "author"}
	errs := make([]error, len(roles))
	for i, r := range roles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = env.rosters[i%2].AddMember(ctx, "blog", "zed", r, op)
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("zed added twice: as %s and as %s", roles[won], roles[i])
		case err == nil:
			won = i
		case !errors.Is(err, ErrMemberExists):
			t.Fatalf("a concurrent add: %v", err)
		}
	}
	if won < 0 {
		t.Fatal("nobody added zed")
	}
	// Read where the change was made: another instance may keep its copy
	// of the members for up to MemberCacheTTL.
	winner := env.rosters[won%2]
	if role, _ := winner.RoleSince(ctx, blog(winner), "zed", nil, time.Time{}); role != roles[won] {
		t.Fatalf("zed is %q, want %q", role, roles[won])
	}
}
