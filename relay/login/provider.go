package login

import (
	"context"
	"errors"
	"net/http"

	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// Provider is one way to log in to the native relay. It has the shape of
// oauth2-proxy's providers: adding a login adds a file with a type that
// implements it and one line in registry.go; nothing of the others
// changes. Roles are the relay's business, not the provider's: a provider
// says who, the project's members say what.
//
// Every provider is one of two kinds. A Redirector sends the browser away
// to log in and back to its slot's callback, and the generic flow serves
// its slot (GitHub, an OpenID Connect issuer, the development login's
// page). A SlotServer answers its slot's routes itself (the e-mail link,
// which goes through a mailbox). Either way the login ends in complete().
type Provider interface {
	// Name names the provider in logs, metrics and its login states
	// ("github").
	Name() string
}

// Redirector is a provider that sends the browser away to log in and
// back.
type Redirector interface {
	Provider
	// LoginURL is where the browser goes to log in. The provider sends it
	// back to its slot's callback with state; verifier is the login's
	// PKCE verifier, sent as its S256 challenge.
	LoginURL(ctx context.Context, state, verifier string) (string, error)
	// Redeem turns the code the provider sent back, with the login's
	// verifier, into the user. A failure to learn who the user is, once
	// the code was good, is ErrUserData.
	Redeem(ctx context.Context, code, verifier string) (Member, error)
}

// SlotServer is a provider that answers its slot's routes itself: the
// keyed call that starts a login, the route the browser arrives at, and
// the one it comes back to.
type SlotServer interface {
	Provider
	ServeExchange(w http.ResponseWriter, r *http.Request, p *roster.Project)
	ServeStart(w http.ResponseWriter, r *http.Request)
	ServeCallback(w http.ResponseWriter, r *http.Request)
}

// Router is a provider with routes of its own beside its slot's (the
// development login's page).
type Router interface {
	Routes() []Route
}

// Member is the user a login, and the sessions it leads to, are for.
// Its JSON names are those of the sealed tokens that carry it.
type Member struct {
	Login string `json:"l"`
	Name  string `json:"nm,omitempty"`
	// Email is the address the site shows: the primary verified one, or
	// GitHub's no-reply form. Membership is checked against Emails.
	Email string `json:"e"`
	// Emails are the user's verified addresses, any of which may be how
	// the project lists them: checked at every step of the session, not
	// only at the login; at most roster.MaxEmails.
	Emails []string `json:"es,omitempty"`
	Avatar string   `json:"a,omitempty"`
	Role   string   `json:"r"`
	// Credential is the user's GitHub token, for the parser and media
	// ("" for a login that was not GitHub's), renewed when it expires.
	github.Credential
}

// who names m in the audit log: the key of their GitHub login, else of
// their address.
func (m Member) who() string {
	if k := roster.MemberKey(m.Login); k != "" {
		return k
	}
	if k := roster.MemberKey(m.Email); k != "" {
		return k
	}
	return m.Login
}

// ErrUserData: the provider took the code but did not say who the user
// is (the stock site's missing-user-data).
var ErrUserData = errors.New("reading the user failed")

// ErrNotMember: a login of someone who is not a member of the project.
var ErrNotMember = errors.New("not a member of the project")
