// Package audit is the native relay's record of security events: who
// signed in or was refused, who made, rotated or revoked a key, who
// changed a member, an invitation, a callback origin or a project. Each
// event is written twice: as a zap entry on the audit logger (in Caddy,
// the logger named outstatic.audit, which Caddy's log configuration can
// send anywhere), and as a record in the relay's store, kept for a
// configured time and bounded per project (the oldest go first), for the
// admin API, `caddy outstatic audit` and the pages' Activity page.
//
// An event names people, roles, origins and key prefixes; never a secret,
// a token or a whole key. What names the store records is the caller's
// (package roster keeps every store name). It does not import Caddy.
package audit

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// Kind is what happened.
type Kind string

// The kinds of event.
const (
	// SignIn is a login that ended, admitted (Result ok) or refused (Result
	// refused, with the protocol code as Reason): to a site, or to the
	// relay's pages.
	SignIn Kind = "sign-in"
	// SignOut is a sign-out from the relay's pages.
	SignOut Kind = "sign-out"
	// SessionReused is a session family ended because a spent refresh
	// token came back: taken for stolen.
	SessionReused Kind = "session-reused"
	// KeyCreated, KeyRotated and KeyRevoked are changes of a project's
	// stored key, named by its prefix.
	KeyCreated Kind = "key-created"
	KeyRotated Kind = "key-rotated"
	KeyRevoked Kind = "key-revoked"
	// MemberAdded, MemberRole and MemberRemoved are changes of a
	// project's stored members.
	MemberAdded   Kind = "member-added"
	MemberRole    Kind = "member-role"
	MemberRemoved Kind = "member-removed"
	// InvitationSent, InvitationRevoked, InvitationAccepted and
	// InvitationVoid follow an invitation: recorded, dropped, turned into
	// a membership at the invitee's first login, or void at that login
	// (the inviter may no longer grant it).
	InvitationSent     Kind = "invitation-sent"
	InvitationRevoked  Kind = "invitation-revoked"
	InvitationAccepted Kind = "invitation-accepted"
	InvitationVoid     Kind = "invitation-void"
	// OriginAdded and OriginRemoved are changes of a project's stored
	// callback origins.
	OriginAdded   Kind = "origin-added"
	OriginRemoved Kind = "origin-removed"
	// ProjectCreated and ProjectDeleted are projects made and removed at
	// run time (the Caddyfile's are neither).
	ProjectCreated Kind = "project-created"
	ProjectDeleted Kind = "project-deleted"
	// ChangeRefused is a change the relay refused: a member change the
	// one rule did not allow, a project change the Caddyfile forbids.
	ChangeRefused Kind = "change-refused"
)

// Kinds are every kind, in the order above.
func Kinds() []Kind {
	return []Kind{SignIn, SignOut, SessionReused, KeyCreated, KeyRotated, KeyRevoked,
		MemberAdded, MemberRole, MemberRemoved, InvitationSent, InvitationRevoked, InvitationAccepted, InvitationVoid,
		OriginAdded, OriginRemoved, ProjectCreated, ProjectDeleted, ChangeRefused}
}

// ValidKind reports whether k is one of Kinds.
func ValidKind(k Kind) bool {
	for _, x := range Kinds() {
		if x == k {
			return true
		}
	}
	return false
}

// Results of a sign-in.
const (
	ResultOK      = "ok"
	ResultRefused = "refused"
)

// Event is one recorded event. Every field but At, Kind and What may be
// empty.
type Event struct {
	At   time.Time `json:"at"`
	Kind Kind      `json:"kind"`
	// Project is the project's slug; "" for the relay's own events (an
	// operator's sign-in to the Projects page).
	Project string `json:"project,omitempty"`
	// By is who acted: a member's login or address, or the operator as
	// the admin API's caller names itself (the CLI sends
	// cli:<user>@<host>).
	By string `json:"by,omitempty"`
	// Operator marks an operator's action: the admin API, the CLI, the
	// Projects page.
	Operator bool `json:"operator,omitempty"`
	// Member is whom the event is about, by their key: who signed in, the
	// member added or removed, the address invited.
	Member string `json:"member,omitempty"`
	// Role is the role given (or, for a sign-in, held).
	Role string `json:"role,omitempty"`
	// Provider is a sign-in's login provider ("github", "oidc:google",
	// "email", "dev").
	Provider string `json:"provider,omitempty"`
	// ClientIP is the address the request came from (Caddy's client IP).
	ClientIP string `json:"client_ip,omitempty"`
	// Result is a sign-in's: ResultOK or ResultRefused.
	Result string `json:"result,omitempty"`
	// Reason is why: a refusal's protocol code or the rule's words.
	Reason string `json:"reason,omitempty"`
	// Origin is a callback origin added or removed.
	Origin string `json:"origin,omitempty"`
	// KeyPrefix names a key by its prefix, never more of it.
	KeyPrefix string `json:"key_prefix,omitempty"`
	// What says it in one line, for people.
	What string `json:"what"`
}

// fields are e's zap fields, the empty ones left out.
func (e Event) fields() []zap.Field {
	// room for every field: one allocation, not one per doubling
	f := append(make([]zap.Field, 0, 13), zap.String("kind", string(e.Kind)))
	add := func(k, v string) {
		if v != "" {
			f = append(f, zap.String(k, v))
		}
	}
	add("project", e.Project)
	add("by", e.By)
	if e.Operator {
		f = append(f, zap.Bool("operator", true))
	}
	add("member", e.Member)
	add("role", e.Role)
	add("provider", e.Provider)
	add("client_ip", e.ClientIP)
	add("result", e.Result)
	add("reason", e.Reason)
	add("origin", e.Origin)
	add("key_prefix", e.KeyPrefix)
	add("what", e.What)
	return f
}

// Actor is who a request acts for, as the door it came in by knows them:
// what an event records when its recorder names nobody.
type Actor struct {
	// By is who acts (see Event.By).
	By string
	// Operator marks the operator.
	Operator bool
	// ClientIP is the request's client address.
	ClientIP string
}

type actorKey struct{}

// WithActor returns ctx carrying a, merged over what ctx carries already
// (a's empty fields keep ctx's).
func WithActor(ctx context.Context, a Actor) context.Context {
	prev := ActorOf(ctx)
	if a.By == "" {
		a.By, a.Operator = prev.By, prev.Operator
	}
	if a.ClientIP == "" {
		a.ClientIP = prev.ClientIP
	}
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorOf is the actor ctx carries; the zero Actor for none.
func ActorOf(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}
