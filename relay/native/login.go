package native

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/store"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// The GitHub relay hop (PROTOCOL.md §4): github-exchange answers a URL on
// the relay's own start route; the start route sends the browser to GitHub
// with a sealed state and PKCE; GitHub's return is checked, the user is
// looked up and checked against the project's members, and a one-time
// exchange token bound to the checked callback is minted. Starting a login
// stores nothing, so the sign-in page's prefetches cost nothing that lasts.

// loginState travels sealed through the start route and GitHub.
type loginState struct {
	Project  string `json:"p"`
	Callback string `json:"c"`
	Nonce    string `json:"n,omitempty"`
	// Provider names the login provider the state is for; "" is the
	// relay's main login (GitHub, or the development login). A state is
	// good only at its own provider's routes.
	Provider string `json:"pv,omitempty"`
	// ReturnURL is the checked returnUrl of google-exchange, if any.
	ReturnURL string `json:"r,omitempty"`
	// Page marks a sign-in to the relay's own pages (pagesignin.go):
	// Callback is then the pages' sign-in route, on the relay itself.
	Page bool `json:"pg,omitempty"`
}

// providerOf is the name of the login provider st is for.
func (n *Native) providerOf(st loginState) string {
	if st.Provider == "" {
		return n.login.Name()
	}
	return st.Provider
}

// exchangePayload is what an exchange token stands for, sealed in the store.
type exchangePayload struct {
	Project  string `json:"p"`
	Callback string `json:"c"`
	// ReturnURL, checked, is exchange-token's return_url (e-mail and
	// OpenID Connect logins that were given a returnUrl).
	ReturnURL string `json:"ru,omitempty"`
	member
}

// member is the user a login or a session is for.
type member struct {
	Login string `json:"l"`
	Name  string `json:"nm,omitempty"`
	// Email is the address the site shows: the primary verified one, or
	// GitHub's no-reply form. Membership is checked against Emails.
	Email string `json:"e"`
	// Emails are the user's verified addresses, any of which may be how
	// the project lists them: checked at every step of the session, not
	// only at the login.
	Emails []string `json:"es,omitempty"`
	Avatar string   `json:"a,omitempty"`
	Role   string   `json:"r"`
	// GitHub is the user's GitHub token, for the parser. A GitHub App's
	// user token expires (GitHubExpiry, Unix seconds) and comes with a
	// refresh token, single use, that renews it (see github_token.go).
	GitHub        string `json:"g"`
	GitHubRefresh string `json:"gr,omitempty"`
	GitHubExpiry  int64  `json:"gx,omitempty"`
}

// maxEmails bounds the verified addresses a session carries, so that the
// tokens, which the site keeps in a cookie, stay small.
const maxEmails = 10

// serveGitHubExchange answers #2 with the relay's start route.
func (n *Native) serveGitHubExchange(w http.ResponseWriter, r *http.Request) {
	p := n.authProject(w, r, protocol.CodeInvalidAPIKey)
	if p == nil {
		return
	}
	var in struct {
		CallbackURL *string `json:"callback_url"`
	}
	if err := protocol.ReadJSON(r.Body, &in); err != nil || in.CallbackURL == nil {
		protocol.WriteError(w, http.StatusBadRequest, validate.CodeInvalidCallbackTarget)
		return
	}
	_, t, err := n.checkCallback(r.Context(), p, *in.CallbackURL)
	if err != nil {
		writeCheckError(w, err)
		return
	}
	sealed, _, err := n.seal.seal(purposeStart, loginState{Project: p.Slug, Callback: t.URL}, startTTL)
	if err != nil {
		protocol.WriteError(w, http.StatusInternalServerError, protocol.CodeGitHubRelayFailed)
		return
	}
	protocol.WriteJSON(w, http.StatusOK, map[string]string{"url": n.base + protocol.GitHubStart.Path + "?s=" + sealed})
}

// serveStart sends the browser to GitHub. It answers no CORS: the sign-in
// page's prefetch follows redirects cross-origin and must learn nothing.
func (n *Native) serveStart(w http.ResponseWriter, r *http.Request) {
	n.startLogin(w, r, n.login, protocol.CodeGitHubRelayFailed)
}

// preparer is a Provider that must get ready (discover its issuer) before
// its LoginURL means anything; prepare is cheap once it succeeded.
type preparer interface {
	prepare(ctx context.Context) error
}

// startLogin sends the browser to prov; failCode is the error a failure
// sends back to the site's callback.
func (n *Native) startLogin(w http.ResponseWriter, r *http.Request, prov Provider, failCode string) {
	var st loginState
	p, ok := n.openState(w, r, purposeStart, r.URL.Query().Get("s"), &st)
	if !ok {
		return
	}
	if n.providerOf(st) != prov.Name() {
		http.Error(w, "This login link is not valid. Start again from the sign-in page.", http.StatusBadRequest)
		return
	}
	if !n.allowStart(w, r, p, prov) {
		return
	}
	if pr, ok := prov.(preparer); ok {
		if err := pr.prepare(r.Context()); err != nil {
			n.log.Error("login provider not ready", zap.String("provider", prov.Name()), zap.Error(err))
			n.finish(w, r, prov.Name(), st.Callback, failCode)
			return
		}
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	st.Nonce = base64.RawURLEncoding.EncodeToString(nonce)
	state, _, err := n.seal.seal(purposeState, st, stateTTL)
	if err != nil {
		n.finish(w, r, prov.Name(), st.Callback, failCode)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	u := prov.LoginURL(state, n.verifier(st.Nonce))
	n.log.Debug("login started", zap.String("project", p.Slug), zap.String("provider", prov.Name()))
	n.countLogin(prov.Name(), LoginStarted, "")
	http.Redirect(w, r, u, http.StatusFound)
}

// verifier recomputes a login's PKCE verifier from its nonce.
func (n *Native) verifier(nonce string) string {
	return base64.RawURLEncoding.EncodeToString(n.seal.derive(purposeVerify, []byte(nonce)))
}

// openState opens a sealed login state. A forged one gets a plain 400 (it
// names no callback to go back to); an expired one, or one whose callback
// the project no longer accepts, goes back with invalid-state.
func (n *Native) openState(w http.ResponseWriter, r *http.Request, purpose, sealed string, st *loginState) (*Project, bool) {
	err := n.seal.open(purpose, sealed, st)
	if errors.Is(err, errSealed) {
		http.Error(w, "This login link is not valid. Start again from the sign-in page.", http.StatusBadRequest)
		return nil, false
	}
	p := n.projects[st.Project]
	if p == nil {
		http.Error(w, "This login link is for a project this relay does not serve.", http.StatusBadRequest)
		return nil, false
	}
	if st.Page && !n.isPageURL(st.Callback) {
		http.Error(w, "This sign-in link is not valid. Start again from the sign-in page.", http.StatusBadRequest)
		return nil, false
	}
	if t, cerr := n.targets(r.Context(), p).Check(st.Callback); !st.Page && (cerr != nil || t.URL != st.Callback) {
		http.Error(w, "This login's callback is no longer accepted.", http.StatusBadRequest)
		return nil, false
	}
	if err != nil {
		n.finish(w, r, n.providerOf(*st), st.Callback, protocol.CodeInvalidState)
		return nil, false
	}
	return p, true
}

// finish sends the browser to the checked callback with an error code,
// and counts the refusal of a login with provider.
func (n *Native) finish(w http.ResponseWriter, r *http.Request, provider, callback, code string) {
	n.countLogin(provider, LoginRefused, code)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, callback+"?error="+url.QueryEscape(code), http.StatusFound)
}

// serveGitHubCallback checks the provider's return and mints the exchange token.
func (n *Native) serveGitHubCallback(w http.ResponseWriter, r *http.Request) {
	n.completeLogin(w, r, n.login, protocol.CodeGitHubRelayFailed)
}

// completeLogin checks prov's return and mints the exchange token;
// failCode is the error a provider failure sends back to the site.
func (n *Native) completeLogin(w http.ResponseWriter, r *http.Request, prov Provider, failCode string) {
	q := r.URL.Query()
	var st loginState
	p, ok := n.openState(w, r, purposeState, q.Get("state"), &st)
	if !ok {
		return
	}
	if n.providerOf(st) != prov.Name() {
		http.Error(w, "This login link is not valid. Start again from the sign-in page.", http.StatusBadRequest)
		return
	}
	// A state is good for one return: a replayed one is refused on every
	// instance that shares the store.
	if err := n.cfg.Store.PutNew(r.Context(), "spent/state/"+relay.TokenKey(st.Nonce), []byte{1}, stateTTL); err != nil {
		if !errors.Is(err, store.ErrExists) {
			n.log.Error("recording a spent state", zap.Error(err))
		}
		n.finish(w, r, prov.Name(), st.Callback, protocol.CodeInvalidState)
		return
	}
	if q.Get("error") != "" || q.Get("code") == "" {
		n.finish(w, r, prov.Name(), st.Callback, failCode)
		return
	}
	m, err := prov.Redeem(r.Context(), q.Get("code"), n.verifier(st.Nonce))
	switch {
	case errors.Is(err, errUserData):
		n.log.Info("reading the "+prov.Name()+" user failed", zap.Error(err))
		n.finish(w, r, prov.Name(), st.Callback, "missing-user-data")
		return
	case err != nil:
		n.log.Info(prov.Name()+" code exchange failed", zap.String("project", p.Slug), zap.Error(err))
		n.finish(w, r, prov.Name(), st.Callback, failCode)
		return
	}
	if st.Page {
		n.finishPageSignIn(w, r, p, st, m)
		return
	}
	if m.Role, err = n.admit(r.Context(), p, m); err != nil {
		n.log.Error("checking a member", zap.String("project", p.Slug), zap.Error(err))
		n.finish(w, r, prov.Name(), st.Callback, failCode)
		return
	}
	if m.Role == "" {
		n.log.Info("login refused: not a member", zap.String("project", p.Slug), zap.String("login", m.Login))
		n.finish(w, r, prov.Name(), st.Callback, protocol.CodeNotCollaborator)
		return
	}
	token, err := n.mintExchangeToken(r.Context(), exchangePayload{Project: p.Slug, Callback: st.Callback, ReturnURL: st.ReturnURL, member: m})
	if err != nil {
		n.log.Error("minting an exchange token", zap.Error(err))
		n.finish(w, r, prov.Name(), st.Callback, failCode)
		return
	}
	n.log.Info("login completed", zap.String("project", p.Slug), zap.String("provider", prov.Name()), zap.String("login", m.Login), zap.String("role", m.Role))
	n.countLogin(prov.Name(), LoginCompleted, "")
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, st.Callback+"?exchange_token="+token, http.StatusFound)
}

// mintExchangeToken stores the sealed payload under the token's hash for
// exchangeTTL and returns the token: 256 random bits, opaque.
func (n *Native) mintExchangeToken(ctx context.Context, payload exchangePayload) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := "xt_" + base64.RawURLEncoding.EncodeToString(raw)
	sealed, _, err := n.seal.seal(purposeToken, payload, exchangeTTL)
	if err != nil {
		return "", err
	}
	return token, n.cfg.Store.Put(ctx, exchangeName(token), []byte(sealed), exchangeTTL)
}

func exchangeName(token string) string { return "xt/" + relay.TokenKey(token) }

// redactErr keeps an OAuth error's kind and drops what a server echoed.
func redactErr(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return fmt.Errorf("oauth2: %s (status %d)", re.ErrorCode, re.Response.StatusCode)
	}
	return err
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
