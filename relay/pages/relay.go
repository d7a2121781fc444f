package pages

import (
	"context"
	"net/http"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/relay/login"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// What the pages need of the native relay, as small interfaces: package
// relay/login's Logins is a SignIn, package relay/roster's Roster a
// Roster.

// SignIn signs a user in to the pages with the relay's login providers,
// and seals the pages' own session.
type SignIn interface {
	// PublicBase is the relay's public URL, without a trailing slash.
	PublicBase() string
	// SignInProviders names the providers the pages offer, in order.
	SignInProviders() []string
	// PageSignInURL starts a sign-in to project's pages with provider,
	// back to done, for the request r: where the browser goes, and the
	// nonce to keep.
	PageSignInURL(r *http.Request, provider, project, done string) (url, nonce string, err error)
	// OpenPageTicket opens the ticket a sign-in came back with, once, in
	// the browser that holds nonce.
	OpenPageTicket(ctx context.Context, ticket, nonce string) (login.PageUser, error)
	// EndPage signs out the pages session of CSRF token csrf, on every
	// instance, for ttl; PageEnded reports whether it was.
	EndPage(ctx context.Context, csrf string, ttl time.Duration) error
	PageEnded(ctx context.Context, csrf string) (bool, error)
	// SealPage and OpenPage seal and open the pages' session.
	SealPage(v any, ttl time.Duration) (string, error)
	OpenPage(text string, v any) error
}

// Members are a project's members and invitations, and who may change
// them: every change is judged by the roster's one rule.
type Members interface {
	ProjectAt(ctx context.Context, account, slug string) (*roster.Project, error)
	RoleSince(ctx context.Context, p *roster.Project, login string, emails []string, since time.Time) (string, error)
	Members(ctx context.Context, project string) ([]roster.MemberInfo, error)
	Invitations(ctx context.Context, project string) ([]roster.Invitation, error)
	AddMember(ctx context.Context, project, who, role string, by roster.Actor) (roster.StoredMember, error)
	SetRole(ctx context.Context, project, who, role string, by roster.Actor) (roster.StoredMember, error)
	RemoveMember(ctx context.Context, project, who string, by roster.Actor) error
	Invite(ctx context.Context, project, email, role string, by roster.Actor) (roster.Invitation, string, bool, error)
	RevokeInvitation(ctx context.Context, project, email string, by roster.Actor) error
}

// Keys is a project's stored API key.
type Keys interface {
	StoredKey(ctx context.Context, project string) (roster.KeyInfo, bool, error)
	CreateKey(ctx context.Context, project string, rotate bool) (string, roster.KeyInfo, error)
}

// Origins are a project's callback origins.
type Origins interface {
	Origins(ctx context.Context, project string) (roster.OriginList, error)
	AddOrigin(ctx context.Context, project, raw string) (string, error)
	RemoveOrigin(ctx context.Context, project, raw string) error
}

// Projects are the relay's projects made at run time, which operators
// make and delete on the Projects page.
type Projects interface {
	Stored() *roster.ProjectBook
}

// Activity is the audit log, which the Activity page shows and the
// pages' sign-outs are recorded in.
type Activity interface {
	AuditEvents(ctx context.Context, q audit.Query) (audit.Page, error)
	Audit() *audit.Log
}

// Roster is what the pages show and change of the relay's projects.
type Roster interface {
	Members
	Keys
	Origins
	Projects
	Activity
}

// Interface guards
var (
	_ SignIn = (*login.Logins)(nil)
	_ Roster = (*roster.Roster)(nil)
)
