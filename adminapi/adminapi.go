// Package adminapi is the JSON of the native relay's routes on Caddy's
// admin API: the paths, and what each route takes and answers. The root
// package serves these routes; the CLI (package cli) calls them over HTTP,
// so both read the wire from here and the CLI needs nothing of the root.
//
//	GET  KeysPath                                        []KeyInfo
//	POST KeysPath/<project>/create|rotate|revoke         KeyReply
//	GET  OriginsPath                                     []OriginsReply
//	POST OriginsPath/<project>/add|remove?origin=<url>   OriginsReply
//	GET  MembersPath                                     []ProjectMembers
//	GET  MembersPath/<project>/log                       []AuditEntry
//	POST MembersPath/<project>/<action>                  MemberRequest in; the member,
//	                                                     InviteReply, or what was removed
//
//	GET    ProjectsPath                                  []ProjectInfo
//	POST   ProjectsPath                                  ProjectRequest in; ProjectInfo
//	GET    ProjectsPath/<project>                        ProjectInfo
//	DELETE ProjectsPath/<project>?by=<who>               ProjectDeleted
//	GET    AuditPath?project=&since=&kind=&member=&limit=&offset=   AuditPage
//
// where a member route's action is add, role, remove, invite or
// revoke-invite, and the audit route's since is a duration back from now
// (24h, 7d) or an RFC 3339 time.
//
// A refusal is Caddy's admin error answer, {"error": "..."}, with a status.
package adminapi

import (
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// The routes' paths. Each is also the prefix of its per-project routes,
// followed by "/<project>/<action>".
const (
	KeysPath    = "/outstatic/keys"
	OriginsPath = "/outstatic/origins"
	MembersPath = "/outstatic/members"
	// ProjectsPath is the projects made at run time, beside the
	// Caddyfile's; AuditPath is the audit log.
	ProjectsPath = "/outstatic/projects"
	AuditPath    = "/outstatic/audit"
)

// ProjectRequest is the body of a project create: the same fields as a
// project block of the Caddyfile, judged by the same rule, and Owner, the
// GitHub login or e-mail address of its first member. By names who asks,
// for the audit log.
type ProjectRequest struct {
	Slug    string   `json:"slug"`
	Repo    string   `json:"repo"`
	Origins []string `json:"origins"`
	Plan    string   `json:"plan,omitempty"`
	Owner   string   `json:"owner,omitempty"`
	By      string   `json:"by,omitempty"`
}

// ProjectDeleted answers a project delete.
type ProjectDeleted struct {
	Project string `json:"project"`
	Deleted bool   `json:"deleted"`
}

// KeyReply answers a key change. Key is present only in the answer to
// create and rotate, the one time it is shown.
type KeyReply struct {
	Project string    `json:"project"`
	Key     string    `json:"key,omitempty"`
	Prefix  string    `json:"prefix,omitempty"`
	Created time.Time `json:"created,omitempty"`
	Revoked bool      `json:"revoked,omitempty"`
}

// OriginsReply is one project's callback origins: those of the Caddyfile
// and those stored since.
type OriginsReply struct {
	Project string `json:"project"`
	OriginList
}

// ProjectMembers is one project in the answer to GET MembersPath.
type ProjectMembers struct {
	Project     string       `json:"project"`
	Members     []MemberInfo `json:"members"`
	Invitations []Invitation `json:"invitations"`
}

// MemberRequest is the body of the member routes' POSTs: Who for add,
// role and remove, Email for invite and revoke-invite, and By, who asks,
// for the members log.
type MemberRequest struct {
	Who   string `json:"who,omitempty"`
	Email string `json:"email,omitempty"`
	Role  string `json:"role,omitempty"`
	By    string `json:"by,omitempty"`
}

// InviteReply answers invite: the invitation, its link, and whether it
// was e-mailed.
type InviteReply struct {
	Invitation
	Project string `json:"project"`
	Link    string `json:"link"`
	Sent    bool   `json:"sent"`
}

// The roster's own types that the routes answer with as they are.
type (
	// KeyInfo is one project's key as GET KeysPath lists it: its prefix
	// and creation time, never the key.
	KeyInfo = roster.KeyInfo
	// OriginList is a project's configured and stored callback origins.
	OriginList = roster.OriginList
	// MemberInfo is one member of a project.
	MemberInfo = roster.MemberInfo
	// Invitation is one pending invitation.
	Invitation = roster.Invitation
	// AuditEntry is one recorded event of the audit log.
	AuditEntry = roster.AuditEntry
	// ProjectInfo is one project: where it comes from (the Caddyfile or
	// the store), its repository, plan and callback origins.
	ProjectInfo = roster.ProjectInfo
	// AuditPage is an answer of the audit log: events, newest first, and
	// how many match in all.
	AuditPage = audit.Page
)
