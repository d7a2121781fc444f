package login

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/relay/seal"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// What the relay's own pages (package relay/pages: Members, API Keys) need
// of the logins: a sign-in with the relay's login providers, and a seal
// for their session.
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

// PageUser is who signed in to the relay's pages.
type PageUser struct {
	Login  string   `json:"l"`
	Name   string   `json:"nm,omitempty"`
	Email  string   `json:"e,omitempty"`
	Emails []string `json:"es,omitempty"`
	Avatar string   `json:"a,omitempty"`
	// At is when the sign-in was, Unix seconds by the relay's clock: a
	// stored membership added after it does not carry the pages' session
	// (roster.RoleSince). 0 in sessions sealed before it was kept.
	At int64 `json:"t,omitempty"`
}

// pageTicket is what a ticket stands for.
type pageTicket struct {
	Nonce string   `json:"n"`
	User  PageUser `json:"u"`
}

// ErrUnknownProvider is a sign-in with a provider the relay lacks.
var ErrUnknownProvider = errors.New("no such login provider")

// pageProviders are the login providers the pages offer, in the slots'
// order: those that send the browser away and back to the relay's
// callback with a state (an e-mail link would need a form of its own).
// Their callbacks end in completeLogin, which ends a Page state with
// finishPageSignIn.
func (l *Logins) pageProviders() []Redirector {
	var out []Redirector
	for _, slot := range Slots {
		if r, ok := l.bySlot[slot].(Redirector); ok {
			out = append(out, r)
		}
	}
	return out
}

// SignInProviders names the login providers the pages offer, one button
// each, in order.
func (l *Logins) SignInProviders() []string {
	var out []string
	for _, p := range l.pageProviders() {
		out = append(out, p.Name())
	}
	return out
}

// PublicBase is the relay's public URL, without a trailing slash.
func (l *Logins) PublicBase() string { return l.base }

// isPageURL reports whether u is an absolute URL of the relay's pages.
func (l *Logins) isPageURL(u string) bool {
	return strings.HasPrefix(u, l.base+protocol.Pages.Path) && !strings.ContainsAny(u, "?#\\")
}

// PageSignInURL starts a sign-in to the pages of project with provider
// ("" for the operators' Projects page): it returns where the browser
// goes, and the nonce the pages keep in a cookie to check the ticket
// against. done is the pages' sign-in route, where the browser comes back
// with ?ticket= or ?error=; r is the request that starts it, named in the
// log.
func (l *Logins) PageSignInURL(r *http.Request, provider, project, done string) (string, string, error) {
	i := slices.IndexFunc(l.pageProviders(), func(p Redirector) bool { return p.Name() == provider })
	if i < 0 {
		return "", "", ErrUnknownProvider
	}
	prov := l.pageProviders()[i]
	// The OpenID Connect issuer is discovered before its first login URL;
	// the discovery is bounded on its own, not by the request.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if project != "" {
		if p, err := l.cfg.Roster.Project(ctx, project); err != nil || p == nil {
			return "", "", errors.Join(roster.ErrUnknownProject, err)
		}
	}
	if !l.isPageURL(done) {
		return "", "", errors.New("the sign-in must come back to the relay's pages")
	}
	// Provider: the callback of prov accepts only its own states.
	st := loginState{Project: project, Callback: done, Provider: prov.Name(), Page: true}
	u, nonce, err := l.loginURL(ctx, prov, st)
	if err != nil {
		l.log.Error(r, "login provider not ready", zap.String("provider", prov.Name()), zap.Error(err))
		return "", "", err
	}
	return u, nonce, nil
}

// finishPageSignIn sends the browser back to the pages with a ticket for
// m. Membership (or, on the Projects page, being an operator) is the
// pages' to check, at every request: they show a non-member that they are
// not one. p is nil for an operator's sign-in.
func (l *Logins) finishPageSignIn(w http.ResponseWriter, r *http.Request, p *roster.Project, st loginState, provider string, m Member) {
	u := PageUser{Login: m.Login, Name: m.Name, Email: m.Email, Emails: m.Emails, Avatar: m.Avatar, At: l.cfg.Now().Unix()}
	ticket, _, err := l.cfg.Seal.Seal(seal.Ticket, pageTicket{Nonce: st.Nonce, User: u}, ticketTTL)
	if err != nil {
		l.finish(w, r, provider, p, st.Callback, protocol.CodeSignInFailed)
		return
	}
	l.recordSignIn(r.Context(), provider, p, m, "", true)
	l.log.Info(r, "pages sign-in completed", zap.String("project", st.Project), zap.String("login", m.Login))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, st.Callback+"?ticket="+url.QueryEscape(ticket), http.StatusFound)
}

// OpenPageTicket opens a ticket and returns its user, once per ticket on
// every instance that shares the store, if it was issued to the browser
// that holds nonce.
func (l *Logins) OpenPageTicket(ctx context.Context, ticket, nonce string) (PageUser, error) {
	var t pageTicket
	if err := l.cfg.Seal.Open(seal.Ticket, ticket, &t); err != nil {
		return PageUser{}, err
	}
	if nonce == "" || subtle.ConstantTimeCompare([]byte(t.Nonce), []byte(nonce)) != 1 {
		return PageUser{}, errors.New("the ticket was issued to another browser")
	}
	if err := l.cfg.Store.PutNew(ctx, roster.SpentTicketName(t.Nonce), []byte{1}, ticketTTL); err != nil {
		if errors.Is(err, store.ErrExists) {
			return PageUser{}, errors.New("the ticket was used already")
		}
		return PageUser{}, err
	}
	return t.User, nil
}

// EndPage records the pages session whose CSRF token is csrf as signed
// out, on every instance that shares the store, for ttl (as long as it
// would have lasted): its cookie, replayed, opens no page.
func (l *Logins) EndPage(ctx context.Context, csrf string, ttl time.Duration) error {
	return l.cfg.Store.Put(ctx, roster.PageSignedOutName(csrf), []byte{1}, ttl)
}

// PageEnded reports whether the pages session whose CSRF token is csrf
// was signed out.
func (l *Logins) PageEnded(ctx context.Context, csrf string) (bool, error) {
	_, err := l.cfg.Store.Get(ctx, roster.PageSignedOutName(csrf))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// SealPage seals v for the pages' own use (their session), valid for ttl.
func (l *Logins) SealPage(v any, ttl time.Duration) (string, error) {
	s, _, err := l.cfg.Seal.Seal(seal.Page, v, ttl)
	return s, err
}

// OpenPage opens what SealPage sealed; it fails for anything forged,
// tampered, sealed for another purpose, or expired.
func (l *Logins) OpenPage(text string, v any) error { return l.cfg.Seal.Open(seal.Page, text, v) }
