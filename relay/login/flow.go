package login

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/relay/seal"
	"github.com/caddy-outstatic/caddy-outstatic/store"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// The relay hop (PROTOCOL.md §4): the slot's keyed call answers a URL on
// the relay's own start route; the start route sends the browser to the
// provider with a sealed state and PKCE; the provider's return is
// checked, the user is looked up and checked against the project's
// members, and a one-time exchange token bound to the checked callback is
// minted. Starting a login stores nothing, so the sign-in page's
// prefetches cost nothing that lasts.

// Lifetimes of what the logins hand out.
const (
	startTTL    = 10 * time.Minute
	stateTTL    = 10 * time.Minute
	exchangeTTL = 2 * time.Minute
)

// loginState travels sealed through the start route and the provider.
type loginState struct {
	Project  string `json:"p"`
	Callback string `json:"c"`
	Nonce    string `json:"n,omitempty"`
	// Provider names the login provider the state is for; "" (in states
	// sealed before every state named it) is GitHub's slot's. A state is
	// good only at its own provider's routes.
	Provider string `json:"pv,omitempty"`
	// ReturnURL is the checked return URL of the slot's keyed call, if any.
	ReturnURL string `json:"r,omitempty"`
	// Page marks a sign-in to the relay's own pages (pages.go): Callback
	// is then the pages' sign-in route, on the relay itself.
	Page bool `json:"pg,omitempty"`
}

// providerOf is the name of the login provider st is for.
func (l *Logins) providerOf(st loginState) string {
	if st.Provider != "" {
		return st.Provider
	}
	if p := l.bySlot[SlotGitHub]; p != nil {
		return p.Name()
	}
	return SlotGitHub.Name // a relay without GitHub's login: a state no route takes
}

// serveExchange answers slot's keyed call (#2, #3, #4) with its provider.
func (l *Logins) serveExchange(slot *Slot) func(http.ResponseWriter, *http.Request, *roster.Project) {
	return func(w http.ResponseWriter, r *http.Request, p *roster.Project) {
		switch prov := l.bySlot[slot].(type) {
		case nil:
			protocol.WriteError(w, http.StatusNotImplemented, protocol.CodeNotSupported)
		case SlotServer:
			prov.ServeExchange(w, r, p)
		default:
			l.startURL(w, r, p, slot, prov)
		}
	}
}

// start is a checked start of a login: the site's callback and return
// URL.
type start struct{ callback, returnURL string }

// readStart reads the body of a keyed call to ep that starts a login and
// checks its callback (and, if returns, its returnUrl) against p's
// callback origins; extra, if not nil, is decoded from the body too. A
// refusal is answered here.
func (l *Logins) readStart(w http.ResponseWriter, r *http.Request, p *roster.Project, ep *protocol.Endpoint, returns bool, extra any) (start, bool) {
	// The fields by their exact names (another spelling is refused),
	// decoded only when the slot has them.
	var body json.RawMessage
	var in struct {
		Snake  json.RawMessage `json:"callback_url"`
		Camel  json.RawMessage `json:"callbackUrl"`
		Return json.RawMessage `json:"returnUrl"`
	}
	var callback, ret *string
	err := protocol.ReadJSON(r.Body, &body)
	if err == nil {
		err = protocol.DecodeJSON(body, &in)
	}
	if field := in.Snake; err == nil {
		if ep.CallbackField == "callbackUrl" {
			field = in.Camel
		}
		err = decodeField(field, &callback)
	}
	if err == nil && returns {
		err = decodeField(in.Return, &ret)
	}
	if err == nil && extra != nil {
		err = protocol.DecodeJSON(body, extra)
	}
	if err != nil || callback == nil {
		protocol.WriteError(w, http.StatusBadRequest, validate.CodeInvalidCallbackTarget)
		return start{}, false
	}
	targets, t, err := l.checkCallback(r.Context(), p, *callback)
	if err != nil {
		writeCheckError(w, err)
		return start{}, false
	}
	s := start{callback: t.URL}
	if returns {
		if s.returnURL, err = l.checkReturnURL(targets, ret, t.URL); err != nil {
			writeCheckError(w, err)
			return start{}, false
		}
	}
	return s, true
}

// decodeField decodes a field's value, if the body had it, into v.
func decodeField(raw json.RawMessage, v any) error {
	if raw == nil {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// startURL answers a Redirector slot's keyed call with the relay's start
// route for the checked callback.
func (l *Logins) startURL(w http.ResponseWriter, r *http.Request, p *roster.Project, slot *Slot, prov Provider) {
	s, ok := l.readStart(w, r, p, slot.Exchange, slot.ReturnURL, nil)
	if !ok {
		return
	}
	st := loginState{Project: p.Slug, Callback: s.callback, Provider: prov.Name(), ReturnURL: s.returnURL}
	sealed, _, err := l.cfg.Seal.Seal(seal.Start, st, startTTL)
	if err != nil {
		protocol.WriteError(w, http.StatusInternalServerError, slot.Failed)
		return
	}
	protocol.WriteJSON(w, http.StatusOK, map[string]string{"url": l.base + slot.Start.Path + "?s=" + sealed})
}

// checkCallback checks a callback URL a site sent, named as the site names
// its own origin, against p's callback origins, configured and stored; it
// returns those targets too, for a return URL.
func (l *Logins) checkCallback(ctx context.Context, p *roster.Project, raw string) (validate.Targets, validate.Target, error) {
	targets := l.cfg.Roster.Targets(ctx, p)
	t, err := targets.Check(relay.PublicURL(raw, targets, l.cfg.AppHosts))
	return targets, t, err
}

// checkReturnURL checks an optional returnUrl, named as the stock site
// names its own origin (its listen address), and returns the public one,
// or "" for none or for the site's own fallback after a login to callback:
// the stock site always sends a returnUrl, by default that fallback, and
// follows a return_url only on its own listen origin, which a relay behind
// a forward relay cannot know (the forward relay makes every URL public).
// Without return_url the site goes to its fallback itself.
func (l *Logins) checkReturnURL(targets validate.Targets, raw *string, callback string) (string, error) {
	if raw == nil || *raw == "" {
		return "", nil
	}
	ret, err := targets.CheckReturnURL(relay.PublicURL(*raw, targets, l.cfg.AppHosts))
	if err != nil || ret == siteFallback(targets, callback) {
		return "", err
	}
	return ret, nil
}

// siteFallback is where the stock site goes after a login to callback
// without a return_url, <origin><OST_BASE_PATH>/outstatic: the callback
// origin whose callback (documented or stock form) callback is.
func siteFallback(targets validate.Targets, callback string) string {
	for _, o := range targets.Origins {
		for _, route := range []string{validate.RouteCallback, validate.RouteMagicLinkCallback} {
			if callback == o.CallbackURL(route, false) || callback == o.CallbackURL(route, true) {
				return o.String()
			}
		}
	}
	return ""
}

// writeCheckError answers a refused callback with its protocol code.
func writeCheckError(w http.ResponseWriter, err error) {
	var ve *validate.Error
	code := validate.CodeInvalidCallbackTarget
	if errors.As(err, &ve) {
		code = ve.Code
	}
	protocol.WriteError(w, http.StatusBadRequest, code)
}

// serveStart answers slot's start route: a Redirector's sends the browser
// to the provider. It answers no CORS: the sign-in page's prefetch follows
// redirects cross-origin and must learn nothing.
func (l *Logins) serveStart(slot *Slot) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch prov := l.bySlot[slot].(type) {
		case nil:
			protocol.WriteError(w, http.StatusNotFound, protocol.CodeNotFound)
		case SlotServer:
			prov.ServeStart(w, r)
		case Redirector:
			l.startLogin(w, r, slot, prov)
		}
	}
}

// startLogin sends the browser to prov.
func (l *Logins) startLogin(w http.ResponseWriter, r *http.Request, slot *Slot, prov Redirector) {
	var st loginState
	p, ok := l.openState(w, r, seal.Start, r.URL.Query().Get("s"), &st)
	if !ok {
		return
	}
	if l.providerOf(st) != prov.Name() {
		http.Error(w, "This login link is not valid. Start again from the sign-in page.", http.StatusBadRequest)
		return
	}
	if !l.allowStart(w, r, p, prov) {
		return
	}
	u, _, err := l.loginURL(r.Context(), prov, st)
	if err != nil {
		l.log.Error(r, "login provider not ready", zap.String("provider", prov.Name()), zap.Error(err))
		l.finish(w, r, prov.Name(), p, st.Callback, slot.Failed)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	l.log.Debug(r, "login started", zap.String("project", p.Slug), zap.String("provider", prov.Name()))
	l.count(prov.Name(), Started, "")
	http.Redirect(w, r, u, http.StatusFound)
}

// loginURL gives st a fresh nonce, seals it as the provider's state and
// returns where prov sends the browser for it, and the nonce.
func (l *Logins) loginURL(ctx context.Context, prov Redirector, st loginState) (string, string, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return "", "", err
	}
	st.Nonce = base64.RawURLEncoding.EncodeToString(nonce)
	state, _, err := l.cfg.Seal.Seal(seal.State, st, stateTTL)
	if err != nil {
		return "", "", err
	}
	u, err := prov.LoginURL(ctx, state, l.verifier(st.Nonce))
	return u, st.Nonce, err
}

// verifier recomputes a login's PKCE verifier from its nonce.
func (l *Logins) verifier(nonce string) string {
	return base64.RawURLEncoding.EncodeToString(l.cfg.Seal.Derive(seal.Verify, []byte(nonce)))
}

// openState opens a sealed login state. A forged one gets a plain 400 (it
// names no callback to go back to); an expired one, or one whose callback
// the project no longer accepts, goes back with invalid-state. An
// operator's sign-in to the pages names no project: its project is nil.
func (l *Logins) openState(w http.ResponseWriter, r *http.Request, purpose seal.Purpose, sealed string, st *loginState) (*roster.Project, bool) {
	err := l.cfg.Seal.Open(purpose, sealed, st)
	if errors.Is(err, seal.ErrSealed) {
		http.Error(w, "This login link is not valid. Start again from the sign-in page.", http.StatusBadRequest)
		return nil, false
	}
	p, perr := l.cfg.Roster.Project(r.Context(), st.Project)
	switch {
	case perr != nil:
		l.log.Error(r, "reading the projects", zap.Error(perr))
		http.Error(w, "Signing in is not possible right now. Try again in a moment.", http.StatusServiceUnavailable)
		return nil, false
	case p == nil && !(st.Page && st.Project == ""):
		http.Error(w, "This login link is for a project this relay does not serve.", http.StatusBadRequest)
		return nil, false
	}
	if st.Page && !l.isPageURL(st.Callback) {
		http.Error(w, "This sign-in link is not valid. Start again from the sign-in page.", http.StatusBadRequest)
		return nil, false
	}
	if !st.Page {
		if t, cerr := l.cfg.Roster.Targets(r.Context(), p).Check(st.Callback); cerr != nil || t.URL != st.Callback {
			http.Error(w, "This login's callback is no longer accepted.", http.StatusBadRequest)
			return nil, false
		}
	}
	if err != nil {
		l.finish(w, r, l.providerOf(*st), p, st.Callback, protocol.CodeInvalidState)
		return nil, false
	}
	return p, true
}

// finish sends the browser to the checked callback with an error code,
// and records and counts the refusal of a login to p (nil for an
// operator's sign-in) with provider.
func (l *Logins) finish(w http.ResponseWriter, r *http.Request, provider string, p *roster.Project, callback, code string) {
	l.recordSignIn(r.Context(), provider, p, Member{}, code, strings.HasPrefix(callback, l.base+protocol.Pages.Path))
	l.sendBack(w, r, provider, callback, code)
}

// sendBack sends the browser to the checked callback with an error code,
// and counts the refusal of a login with provider.
func (l *Logins) sendBack(w http.ResponseWriter, r *http.Request, provider, callback, code string) {
	l.count(provider, Refused, code)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, callback+"?error="+url.QueryEscape(code), http.StatusFound)
}

// recordSignIn records a login's end in the audit log: refused with the
// protocol code reason, or admitted when reason is "". A sign-in to the
// relay's pages (pages) is for p's pages, or with p nil the Projects page.
func (l *Logins) recordSignIn(ctx context.Context, provider string, p *roster.Project, m Member, reason string, pages bool) {
	e := audit.Event{Kind: audit.SignIn, Provider: provider, Member: m.who(), Role: m.Role, Result: audit.ResultOK}
	e.By = e.Member
	where := "the Projects page"
	if p != nil {
		e.Project, where = p.Slug, p.Slug
		if pages {
			where = "the pages of " + p.Slug
		}
	}
	if reason != "" {
		e.Result, e.Reason = audit.ResultRefused, reason
		e.What = fmt.Sprintf("sign-in to %s with %s refused: %s", where, provider, reason)
	} else {
		e.What = fmt.Sprintf("%s signed in to %s with %s", e.Member, where, provider)
	}
	l.cfg.Roster.Audit().Record(ctx, e)
}

// serveCallback answers slot's callback: a Redirector's return is checked
// and the login completed.
func (l *Logins) serveCallback(slot *Slot) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch prov := l.bySlot[slot].(type) {
		case nil:
			protocol.WriteError(w, http.StatusNotFound, protocol.CodeNotFound)
		case SlotServer:
			prov.ServeCallback(w, r)
		case Redirector:
			l.completeLogin(w, r, slot, prov)
		}
	}
}

// completeLogin checks prov's return and completes the login.
func (l *Logins) completeLogin(w http.ResponseWriter, r *http.Request, slot *Slot, prov Redirector) {
	q := r.URL.Query()
	var st loginState
	p, ok := l.openState(w, r, seal.State, q.Get("state"), &st)
	if !ok {
		return
	}
	if l.providerOf(st) != prov.Name() {
		http.Error(w, "This login link is not valid. Start again from the sign-in page.", http.StatusBadRequest)
		return
	}
	// A state is good for one return: a replayed one is refused on every
	// instance that shares the store.
	if err := l.cfg.Store.PutNew(r.Context(), roster.SpentStateName(st.Nonce), []byte{1}, stateTTL); err != nil {
		if !errors.Is(err, store.ErrExists) {
			l.log.Error(r, "recording a spent state", zap.Error(err))
		}
		l.finish(w, r, prov.Name(), p, st.Callback, protocol.CodeInvalidState)
		return
	}
	if q.Get("error") != "" || q.Get("code") == "" {
		l.finish(w, r, prov.Name(), p, st.Callback, slot.Failed)
		return
	}
	m, err := prov.Redeem(r.Context(), q.Get("code"), l.verifier(st.Nonce))
	switch {
	case errors.Is(err, ErrUserData):
		l.log.Info(r, "reading the "+prov.Name()+" user failed", zap.Error(err))
		l.finish(w, r, prov.Name(), p, st.Callback, protocol.CodeMissingUserData)
		return
	case err != nil:
		l.log.Info(r, prov.Name()+" code exchange failed", zap.String("project", st.Project), zap.Error(err))
		l.finish(w, r, prov.Name(), p, st.Callback, slot.Failed)
		return
	}
	if st.Page {
		l.finishPageSignIn(w, r, p, st, prov.Name(), m)
		return
	}
	l.complete(w, r, prov.Name(), p, st, m, func() { l.sendBack(w, r, prov.Name(), st.Callback, slot.Failed) })
}

// complete ends every login of m, by the provider named provider, for st
// (its project p): it admits the member (a pending invitation of theirs
// is accepted), mints the exchange token for st's callback and sends the
// browser there. A user who is not a member goes back with
// not-collaborator; fail answers a failure of the relay's own (the
// store's). Whichever way it ends, the sign-in is recorded (enter).
func (l *Logins) complete(w http.ResponseWriter, r *http.Request, provider string, p *roster.Project, st loginState, m Member, fail func()) {
	token, m, err := l.enter(r.Context(), provider, p, st.Callback, st.ReturnURL, m)
	switch {
	case errors.Is(err, ErrNotMember):
		l.log.Info(r, "login refused: not a member", zap.String("project", p.Slug), zap.String("provider", provider), zap.String("login", m.Login))
		l.sendBack(w, r, provider, st.Callback, protocol.CodeNotCollaborator)
		return
	case err != nil:
		l.log.Error(r, "completing a login", zap.String("project", p.Slug), zap.Error(err))
		fail()
		return
	}
	l.log.Info(r, "login completed", zap.String("project", p.Slug), zap.String("provider", provider), zap.String("login", m.Login), zap.String("role", m.Role))
	l.count(provider, Completed, "")
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, st.Callback+"?exchange_token="+token, http.StatusFound)
}
