package native

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/identity"
	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// What the relay's own pages (package relay/pages: Members, API Keys) need
// of the native relay: a sign-in with the relay's login providers, a seal
// for their session, the projects and who may do what in them.
//
// A pages sign-in goes through the same provider and the same provider
// callback as a site login (a provider's app has one callback), with a
// state marked Page whose callback is the pages' own sign-in route. What
// comes back is not an exchange token but a sealed ticket, good for
// ticketTTL, carrying the user without their provider tokens, and bound to
// a nonce the pages keep in a cookie of the browser that started: a ticket
// is worth nothing in another browser (no login CSRF).

// ticketTTL bounds the trip from the provider's callback to the pages.
const ticketTTL = 2 * time.Minute

// PagesPath is where the relay's own pages live, under its public URL.
const PagesPath = "/home/"

// PageUser is who signed in to the relay's pages.
type PageUser struct {
	Login  string   `json:"l"`
	Name   string   `json:"nm,omitempty"`
	Email  string   `json:"e,omitempty"`
	Emails []string `json:"es,omitempty"`
	Avatar string   `json:"a,omitempty"`
}

// pageTicket is what a ticket stands for.
type pageTicket struct {
	Nonce string   `json:"n"`
	User  PageUser `json:"u"`
}

// ErrUnknownProvider is a sign-in with a provider the relay lacks.
var ErrUnknownProvider = errors.New("no such login provider")

// pageProviders are the login providers the pages offer, in order: those
// that send the browser away and back to the relay's callback with a
// state, GitHub and the OpenID Connect issuer if configured (an e-mail
// link would need a form of its own). Their callbacks end in
// completeLogin, which ends a Page state with finishPageSignIn.
func (n *Native) pageProviders() []Provider {
	out := []Provider{n.login}
	if n.oidc != nil {
		out = append(out, n.oidc)
	}
	return out
}

// SignInProviders names the login providers the pages offer, one button
// each, in order.
func (n *Native) SignInProviders() []string {
	var out []string
	for _, p := range n.pageProviders() {
		out = append(out, p.Name())
	}
	return out
}

// PublicBase is the relay's public URL, without a trailing slash.
func (n *Native) PublicBase() string { return n.base }

// ProjectAt finds the project the pages' URL names by account and project
// slug; nil for none. GitHub account names are compared without ASCII
// case, and nothing else folded (the Kelvin sign is not "k").
func (n *Native) ProjectAt(account, slug string) *Project {
	p := n.projects[slug]
	if p == nil || !identity.SameLogin(p.Account, account) {
		return nil
	}
	return p
}

// RoleOf is user's role in p, "" for none: the configuration's, else the
// stored one.
func (n *Native) RoleOf(ctx context.Context, p *Project, u PageUser) (string, error) {
	return n.roleOf(ctx, p, u.Login, u.Emails)
}

// Permissions are the dashboard permissions role grants.
func Permissions(role string) []string { return slices.Clone(rolePermissions[role]) }

// isPageURL reports whether u is an absolute URL of the relay's pages.
func (n *Native) isPageURL(u string) bool {
	return strings.HasPrefix(u, n.base+PagesPath) && !strings.ContainsAny(u, "?#\\")
}

// PageSignInURL starts a sign-in to the pages of project with provider:
// it returns where the browser goes, and the nonce the pages keep in a
// cookie to check the ticket against. done is the pages' sign-in route,
// where the browser comes back with ?ticket= or ?error=.
func (n *Native) PageSignInURL(provider, project, done string) (string, string, error) {
	i := slices.IndexFunc(n.pageProviders(), func(p Provider) bool { return p.Name() == provider })
	if i < 0 {
		return "", "", ErrUnknownProvider
	}
	prov := n.pageProviders()[i]
	if n.projects[project] == nil {
		return "", "", ErrUnknownProject
	}
	if !n.isPageURL(done) {
		return "", "", errors.New("the sign-in must come back to the relay's pages")
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", "", err
	}
	// An OpenID Connect issuer is discovered before its first login URL.
	if pr, ok := prov.(preparer); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := pr.prepare(ctx)
		cancel()
		if err != nil {
			n.log.Error("login provider not ready", zap.String("provider", prov.Name()), zap.Error(err))
			return "", "", err
		}
	}
	nonce := base64.RawURLEncoding.EncodeToString(raw)
	// Provider: the callback of prov accepts only its own states.
	st := loginState{Project: project, Callback: done, Nonce: nonce, Provider: prov.Name(), Page: true}
	state, _, err := n.seal.seal(purposeState, st, stateTTL)
	if err != nil {
		return "", "", err
	}
	return prov.LoginURL(state, n.verifier(nonce)), nonce, nil
}

// finishPageSignIn sends the browser back to the pages with a ticket for
// m. Membership is the pages' to check, at every request: they show a
// non-member that they are not one.
func (n *Native) finishPageSignIn(w http.ResponseWriter, r *http.Request, p *Project, st loginState, m member) {
	u := PageUser{Login: m.Login, Name: m.Name, Email: m.Email, Emails: m.Emails, Avatar: m.Avatar}
	ticket, _, err := n.seal.seal(purposeTicket, pageTicket{Nonce: st.Nonce, User: u}, ticketTTL)
	if err != nil {
		n.finish(w, r, n.providerOf(st), st.Callback, "sign-in-failed")
		return
	}
	n.log.Info("pages sign-in completed", zap.String("project", p.Slug), zap.String("login", m.Login))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, st.Callback+"?ticket="+url.QueryEscape(ticket), http.StatusFound)
}

// OpenPageTicket opens a ticket and returns its user, once per ticket on
// every instance that shares the store, if it was issued to the browser
// that holds nonce.
func (n *Native) OpenPageTicket(ctx context.Context, ticket, nonce string) (PageUser, error) {
	var t pageTicket
	if err := n.seal.open(purposeTicket, ticket, &t); err != nil {
		return PageUser{}, err
	}
	if nonce == "" || subtle.ConstantTimeCompare([]byte(t.Nonce), []byte(nonce)) != 1 {
		return PageUser{}, errors.New("the ticket was issued to another browser")
	}
	if err := n.cfg.Store.PutNew(ctx, "spent/ticket/"+relay.TokenKey(t.Nonce), []byte{1}, ticketTTL); err != nil {
		if errors.Is(err, store.ErrExists) {
			return PageUser{}, errors.New("the ticket was used already")
		}
		return PageUser{}, err
	}
	return t.User, nil
}

// SealPage seals v for the pages' own use (their session), valid for ttl.
func (n *Native) SealPage(v any, ttl time.Duration) (string, error) {
	s, _, err := n.seal.seal(purposePage, v, ttl)
	return s, err
}

// OpenPage opens what SealPage sealed; it fails for anything forged,
// tampered, sealed for another purpose, or expired.
func (n *Native) OpenPage(text string, v any) error { return n.seal.open(purposePage, text, v) }

// StoredKey is project's active stored key, without the key itself;
// false when the project has none.
func (n *Native) StoredKey(ctx context.Context, project string) (KeyInfo, bool, error) {
	if n.projects[project] == nil {
		return KeyInfo{}, false, ErrUnknownProject
	}
	rec, err := n.keyRecord(ctx, project)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !rec.active()) {
		return KeyInfo{}, false, nil
	}
	if err != nil {
		return KeyInfo{}, false, err
	}
	return KeyInfo{Project: project, Prefix: rec.Prefix, Created: rec.Created}, true, nil
}

// SetPages serves h at the pages' routes (package relay/pages, which
// needs the relay built first, hence not a NativeConfig field).
func (n *Native) SetPages(h http.Handler) { n.pages.Store(&h) }

// servePages answers the pages' routes, 404 when none are set.
func (n *Native) servePages(w http.ResponseWriter, r *http.Request) {
	if h := n.pages.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	protocol.WriteError(w, http.StatusNotFound, protocol.CodeNotFound)
}

// roleOrder lists the roles from the most to the least powerful: a member
// of the pages may grant a role only up to their own.
var roleOrder = []string{"owner", "admin", "manager", "editor", "author"}

// Roles lists the roles, the most powerful first.
func Roles() []string { return append([]string(nil), roleOrder...) }
