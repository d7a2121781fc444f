package roster

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
)

// The one rule of member changes. Every door that changes who is a member
// or with which role asks AuthorizeMemberChange: the relay's Members page,
// the admin API (and `caddy outstatic member` through it), and invitations
// when they are made, revoked and accepted. The doors call it with the
// roles as they are read under the members' lock, just before the write,
// so nothing changes between the check and the change. It reads the role
// table (package protocol's roles) and nothing else: no store, no
// project, no request.

// MemberAction is a kind of member change.
type MemberAction string

// The member changes, each with the permission it needs.
const (
	// ActionAdd makes a new stored member (members.manage).
	ActionAdd MemberAction = "add"
	// ActionRole gives a stored member another role (roles.manage).
	ActionRole MemberAction = "role"
	// ActionRemove removes a stored member (members.manage).
	ActionRemove MemberAction = "remove"
	// ActionInvite records an invitation (invites.manage).
	ActionInvite MemberAction = "invite"
	// ActionRevoke drops a pending invitation (invites.manage).
	ActionRevoke MemberAction = "revoke"
	// ActionAccept makes the invited address a member at its first login:
	// the inviter's grant, judged again with the inviter as they are then
	// (invites.manage).
	ActionAccept MemberAction = "accept"
)

// actionPermission is the dashboard permission each change needs.
var actionPermission = map[MemberAction]string{
	ActionAdd: protocol.PermMembers, ActionRemove: protocol.PermMembers, ActionRole: protocol.PermRoles,
	ActionInvite: protocol.PermInvites, ActionRevoke: protocol.PermInvites, ActionAccept: protocol.PermInvites,
}

// OperatorRole is the role the rule gives the operator: whoever reaches
// Caddy's admin endpoint (the admin API, and the CLI through it) is the
// machine's owner. The operator holds every permission and ranks above
// every role, so may grant any role and change anyone; the rest of the
// rule still holds: an existing member is not added again, the
// Caddyfile's members are read-only, the last owner is neither removed
// nor demoted. It is not a member role: protocol.ValidRole refuses it.
const OperatorRole = "operator"

// Actor is who asks for a member change: the operator, or a member known
// by login and verified addresses, whose role is read when the change is
// made (not when the form was shown).
type Actor struct {
	// Name is who asks, for the members log.
	Name string `json:"name,omitempty"`
	// Operator is the admin API's caller.
	Operator bool `json:"operator,omitempty"`
	// Login and Emails find a member actor among the members.
	Login  string   `json:"login,omitempty"`
	Emails []string `json:"emails,omitempty"`
}

// OperatorActor is the admin API's caller, named name in the log.
func OperatorActor(name string) Actor { return Actor{Name: name, Operator: true} }

// MemberChange is one change as the rule judges it: what is asked, and
// the target as it is now.
type MemberChange struct {
	Action MemberAction
	// Who names the target in the reasons.
	Who string
	// Role is the target's current role, "" when they are not a member.
	Role string
	// Configured: the target is listed in the Caddyfile.
	Configured bool
	// Invited is the role of the target's pending invitation, "" for none.
	Invited string
	// NewRole is the role given by add, role, invite and accept.
	NewRole string
	// Owners counts the project's owners now, configured and stored.
	Owners int
}

// The classes of refusal, besides ErrConfigMember, ErrNoSuchMember,
// ErrNoSuchInvitation and ErrBadMember.
var (
	// ErrNotAllowed: the actor's role does not allow the change.
	ErrNotAllowed = errors.New("not allowed")
	// ErrMemberExists: adding or inviting someone who is a member already.
	ErrMemberExists = errors.New("already a member")
	// ErrInvitationPending: inviting an address invited already.
	ErrInvitationPending = errors.New("already invited")
	// ErrLastOwner: removing or demoting the project's one owner.
	ErrLastOwner = errors.New("the last owner")
)

// Refusal is a change the relay refuses: a member change the rule does
// not allow, a project change. Its Reason is written for the person who
// asked; Class is one of the errors above (or of projects.go), for
// errors.Is.
type Refusal struct {
	Class  error
	Reason string
	// Field names what was entered wrong, for a form to show the reason
	// beside it: slug, repo, origin, plan or owner; "" for none.
	Field string
}

// MemberRefusal is a member change the rule refuses.
type MemberRefusal = Refusal

func (r *Refusal) Error() string { return r.Reason }

// Unwrap returns the refusal's class.
func (r *Refusal) Unwrap() error { return r.Class }

// refuse is a *Refusal of class, its reason formatted.
func refuse(class error, format string, args ...any) error {
	return &Refusal{Class: class, Reason: fmt.Sprintf(format, args...)}
}

func refuseMember(class error, format string, args ...any) error {
	return refuse(class, format, args...)
}

// rank is role's power, 0 for owner; the operator ranks above every role,
// and anything that is no role below them all.
func rank(role string) int {
	if role == OperatorRole {
		return -1
	}
	if i := slices.Index(protocol.Roles(), role); i >= 0 {
		return i
	}
	return len(protocol.Roles())
}

// AuthorizeMemberChange is the rule: nil when actor (a role, or
// OperatorRole) may make change c, else a *MemberRefusal. In order:
//   - the actor must be a member whose role holds the change's permission
//     (the operator holds all): without roles.manage nobody changes a role;
//   - the target must be as the change needs: not a member yet (nor
//     invited, for an invitation) to be added or invited, a stored member
//     to be changed or removed, a pending invitation to be revoked; the
//     Caddyfile's members are changed only there;
//   - nobody grants a role above their own, nor changes, removes or
//     revokes the invitation of someone whose role is above their own;
//   - the last owner is neither removed nor demoted.
func AuthorizeMemberChange(actor string, c MemberChange) error {
	need, ok := actionPermission[c.Action]
	if !ok {
		return refuseMember(ErrNotAllowed, "%q is not a member change", c.Action)
	}
	if actor != OperatorRole {
		if !protocol.ValidRole(actor) {
			return refuseMember(ErrNotAllowed, "you are not a member of this project")
		}
		if !protocol.Grants(actor, need) {
			return refuseMember(ErrNotAllowed, "your role (%s) does not allow this: it needs %s", actor, need)
		}
	}
	target := c.Role
	switch c.Action {
	case ActionAdd, ActionInvite, ActionAccept:
		switch {
		case c.Configured:
			return refuseMember(ErrConfigMember, "%s is a member already, listed in the Caddyfile (read-only here): change them there", c.Who)
		case c.Role != "":
			return refuseMember(ErrMemberExists, "%s is a member already, as %s: change their role instead", c.Who, c.Role)
		case c.Action == ActionInvite && c.Invited != "":
			return refuseMember(ErrInvitationPending, "%s is invited already, as %s: revoke that invitation first", c.Who, c.Invited)
		}
	case ActionRole, ActionRemove:
		switch {
		case c.Configured:
			return refuseMember(ErrConfigMember, "%s is listed in the Caddyfile (read-only here): change them there", c.Who)
		case c.Role == "":
			return refuseMember(ErrNoSuchMember, "%s is not a stored member", c.Who)
		}
	case ActionRevoke:
		if c.Invited == "" {
			return refuseMember(ErrNoSuchInvitation, "%s has no pending invitation", c.Who)
		}
		target = c.Invited
	}
	if c.Action == ActionRole || c.Action == ActionRemove || c.Action == ActionRevoke {
		if rank(target) < rank(actor) {
			return refuseMember(ErrNotAllowed, "%s is %s, above your role (%s)", c.Who, target, actor)
		}
	}
	if c.Action != ActionRemove && c.Action != ActionRevoke {
		if !protocol.ValidRole(c.NewRole) {
			return refuseMember(ErrBadMember, "role %q is not owner, admin, manager, editor or author", c.NewRole)
		}
		if rank(c.NewRole) < rank(actor) {
			return refuseMember(ErrNotAllowed, "you may grant a role up to your own (%s), not %s", actor, c.NewRole)
		}
	}
	demotes := c.Action == ActionRemove || (c.Action == ActionRole && c.NewRole != "owner")
	if demotes && c.Role == "owner" && c.Owners <= 1 {
		return refuseMember(ErrLastOwner, "%s is the project's last owner: make someone else owner first", c.Who)
	}
	return nil
}

// MemberChangeStatus is the HTTP status that answers a member change's
// error: 403 for a role that does not allow it, 409 for a target whose
// state forbids it, 404 for one that is not there, 400 for bad input.
func MemberChangeStatus(err error) int {
	switch {
	case errors.Is(err, ErrNotAllowed):
		return http.StatusForbidden
	case errors.Is(err, ErrConfigMember), errors.Is(err, ErrMemberExists),
		errors.Is(err, ErrInvitationPending), errors.Is(err, ErrLastOwner):
		return http.StatusConflict
	case errors.Is(err, ErrNoSuchMember), errors.Is(err, ErrNoSuchInvitation), errors.Is(err, ErrUnknownProject):
		return http.StatusNotFound
	case errors.Is(err, ErrBadMember):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
