package relay

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"
	"golang.org/x/oauth2"

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
}

// exchangePayload is what an exchange token stands for, sealed in the store.
type exchangePayload struct {
	Project  string `json:"p"`
	Callback string `json:"c"`
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
	// refresh token, single use, that renews it (see native_github.go).
	GitHub        string `json:"g"`
	GitHubRefresh string `json:"gr,omitempty"`
	GitHubExpiry  int64  `json:"gx,omitempty"`
}

// maxEmails bounds the verified addresses a session carries, so that the
// tokens, which the site keeps in a cookie, stay small.
const maxEmails = 10

// roleIn finds m among p's members.
func (n *Native) roleIn(p *Project, m member) string { return n.roleOf(p, m.Login, m.Emails) }

// serveGitHubExchange answers #2 with the relay's start route.
func (n *Native) serveGitHubExchange(w http.ResponseWriter, r *http.Request) {
	p := n.authProject(w, r, "invalid-api-key")
	if p == nil {
		return
	}
	var in struct {
		CallbackURL *string `json:"callback_url"`
	}
	if err := readBody(r, &in); err != nil || in.CallbackURL == nil {
		writeError(w, http.StatusBadRequest, validate.CodeInvalidCallbackTarget)
		return
	}
	t, err := p.Targets.Check(publicURL(*in.CallbackURL, p.Targets, n.cfg.AppHosts))
	if err != nil {
		writeCheckError(w, err)
		return
	}
	sealed, _, err := n.seal.seal(purposeStart, loginState{Project: p.Slug, Callback: t.URL}, startTTL)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "github-relay-failed")
		return
	}
	writeJSONBody(w, http.StatusOK, map[string]string{"url": n.base + "/outstatic/auth/github/start?s=" + sealed})
}

// serveStart sends the browser to GitHub. It answers no CORS: the sign-in
// page's prefetch follows redirects cross-origin and must learn nothing.
func (n *Native) serveStart(w http.ResponseWriter, r *http.Request) {
	var st loginState
	p, ok := n.openState(w, r, purposeStart, r.URL.Query().Get("s"), &st)
	if !ok {
		return
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	st.Nonce = base64.RawURLEncoding.EncodeToString(nonce)
	state, _, err := n.seal.seal(purposeState, st, stateTTL)
	if err != nil {
		n.finish(w, r, st.Callback, "github-relay-failed")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	u := n.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(n.verifier(st.Nonce)))
	n.log.Debug("login started", zap.String("project", p.Slug))
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
	if t, cerr := p.Targets.Check(st.Callback); cerr != nil || t.URL != st.Callback {
		http.Error(w, "This login's callback is no longer accepted.", http.StatusBadRequest)
		return nil, false
	}
	if err != nil {
		n.finish(w, r, st.Callback, "invalid-state")
		return nil, false
	}
	return p, true
}

// finish sends the browser to the checked callback with an error code.
func (n *Native) finish(w http.ResponseWriter, r *http.Request, callback, code string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, callback+"?error="+url.QueryEscape(code), http.StatusFound)
}

// serveGitHubCallback checks GitHub's return and mints the exchange token.
func (n *Native) serveGitHubCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var st loginState
	p, ok := n.openState(w, r, purposeState, q.Get("state"), &st)
	if !ok {
		return
	}
	// A state is good for one return: a replayed one is refused on every
	// instance that shares the store.
	if err := n.cfg.Store.PutNew(r.Context(), "spent/state/"+tokenKey(st.Nonce), []byte{1}, stateTTL); err != nil {
		if !errors.Is(err, store.ErrExists) {
			n.log.Error("recording a spent state", zap.Error(err))
		}
		n.finish(w, r, st.Callback, "invalid-state")
		return
	}
	if q.Get("error") != "" || q.Get("code") == "" {
		n.finish(w, r, st.Callback, "github-relay-failed")
		return
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, n.cfg.Client)
	tok, err := n.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(n.verifier(st.Nonce)))
	if err != nil {
		n.log.Info("github code exchange failed", zap.String("project", p.Slug), zap.Error(redactErr(err)))
		n.finish(w, r, st.Callback, "github-relay-failed")
		return
	}
	m, err := n.githubUser(r.Context(), tok.AccessToken)
	if err != nil {
		n.log.Info("reading the github user failed", zap.Error(err))
		n.finish(w, r, st.Callback, "missing-user-data")
		return
	}
	m.GitHubRefresh, m.GitHubExpiry = tok.RefreshToken, n.githubExpiry(tok)
	if m.Role = n.roleOf(p, m.Login, m.emails); m.Role == "" {
		n.log.Info("login refused: not a member", zap.String("project", p.Slug), zap.String("login", m.Login))
		n.finish(w, r, st.Callback, "not-collaborator")
		return
	}
	token, err := n.mintExchangeToken(r.Context(), exchangePayload{Project: p.Slug, Callback: st.Callback, member: m.member})
	if err != nil {
		n.log.Error("minting an exchange token", zap.Error(err))
		n.finish(w, r, st.Callback, "github-relay-failed")
		return
	}
	n.log.Info("login completed", zap.String("project", p.Slug), zap.String("login", m.Login), zap.String("role", m.Role))
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

func exchangeName(token string) string { return "xt/" + tokenKey(token) }

// githubIdentity is a GitHub user as a member, and the verified e-mail
// addresses they may be listed under (which the member carries too, for
// the checks of later steps).
type githubIdentity struct {
	member
	emails []string
}

// githubUser reads /user and /user/emails with the user's token.
func (n *Native) githubUser(ctx context.Context, token string) (githubIdentity, error) {
	var u struct {
		Login     string  `json:"login"`
		Name      *string `json:"name"`
		Email     *string `json:"email"`
		AvatarURL string  `json:"avatar_url"`
	}
	if err := n.githubGET(ctx, token, "/user", &u); err != nil {
		return githubIdentity{}, err
	}
	if u.Login == "" {
		return githubIdentity{}, errors.New("github /user has no login")
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := n.githubGET(ctx, token, "/user/emails", &emails); err != nil {
		return githubIdentity{}, err
	}
	id := member{Login: u.Login, Avatar: u.AvatarURL, GitHub: token}
	if u.Name != nil {
		id.Name = *u.Name
	}
	for _, e := range emails {
		if !e.Verified || e.Email == "" {
			continue
		}
		if e.Primary || id.Email == "" {
			id.Email = e.Email
		}
		// The primary address first, so that a cut keeps it.
		if e.Primary {
			id.Emails = append([]string{e.Email}, id.Emails...)
		} else {
			id.Emails = append(id.Emails, e.Email)
		}
	}
	if len(id.Emails) > maxEmails {
		id.Emails = id.Emails[:maxEmails]
	}
	if id.Email == "" {
		// The stock site needs a valid address; GitHub's no-reply form is one.
		id.Email = u.Login + "@users.noreply.github.com"
	}
	return githubIdentity{member: id, emails: id.Emails}, nil
}

func (n *Native) githubGET(ctx context.Context, token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(n.cfg.GitHub.APIURL, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("User-Agent", "caddy-outstatic")
	res, err := n.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("github %s: status %d", path, res.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(v)
}

// roleOf finds the user among the project's members, by login or by a
// verified e-mail address, whatever their case.
func (n *Native) roleOf(p *Project, login string, emails []string) string {
	if role := p.Members[memberKey(login)]; role != "" {
		return role
	}
	for _, e := range emails {
		if role := p.Members[memberKey(e)]; role != "" {
			return role
		}
	}
	return ""
}

// memberKey is how a login or e-mail address is compared: GitHub logins
// are case-insensitive, and so, in practice, are e-mail addresses. It is
// the one place members are normalized, at configuration and at lookup.
func memberKey(who string) string { return strings.ToLower(strings.TrimSpace(who)) }

// redactErr keeps an OAuth error's kind and drops what a server echoed.
func redactErr(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return fmt.Errorf("oauth2: %s (status %d)", re.ErrorCode, re.Response.StatusCode)
	}
	return err
}

// readBody decodes a bounded JSON object.
func readBody(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
	if err != nil {
		return err
	}
	if len(data) > 64<<10 {
		return errors.New("body too large")
	}
	return json.Unmarshal(data, v)
}

// writeCheckError answers a refused callback with its protocol code.
func writeCheckError(w http.ResponseWriter, err error) {
	var ve *validate.Error
	code := validate.CodeInvalidCallbackTarget
	if errors.As(err, &ve) {
		code = ve.Code
	}
	writeError(w, http.StatusBadRequest, code)
}

// writeJSONBody answers with a JSON success body.
func writeJSONBody(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
