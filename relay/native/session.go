package native

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/relay/login"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/relay/seal"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// Sessions. The access and refresh tokens are sealed claims: any instance
// can check them, and they carry the user's GitHub token for the parser
// without the browser being able to read it. A session ends at its next
// refresh or parser call when its member is removed from the project, the
// project's key is rotated or revoked, or its family ends.
//
// Every login starts a family: the tokens refreshed from it. A refresh
// token is good for one refresh (then it is spent, across instances), and
// the family ends at a fixed time, its refresh expiry, that no refresh
// moves. A spent refresh token presented again after a short grace is
// taken for a stolen one, and ends its whole family (see family.go).

// sessionClaims is what a session token carries.
type sessionClaims struct {
	Project string `json:"p"`
	KeyGen  string `json:"k"`
	// Family names the login the session comes from.
	Family string `json:"f"`
	// ID names a refresh token, spent when it is used; access tokens
	// have none.
	ID string `json:"i,omitempty"`
	// End is the family's refresh expiry, Unix seconds.
	End int64 `json:"x"`
	// At is when the family's login was, Unix seconds: a stored
	// membership added after it does not carry the session
	// (roster.RoleSince). 0 in sessions sealed before it was kept.
	At int64 `json:"t,omitempty"`
	login.Member
	// token is the GitHub token of this call (repoaccess.go), viaApp
	// whether it is the App's; neither is sealed.
	token  string
	viaApp bool
}

// serveExchangeToken answers #5: one redemption per token, for exactly the
// callback it was minted for.
func (n *Native) serveExchangeToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token    string `json:"exchange_token"`
		Callback string `json:"callback_url"`
	}
	if err := protocol.ReadJSON(r.Body, &in); err != nil || in.Token == "" {
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeInvalidExchangeToken)
		return
	}
	// The key epoch is read with the take: the session's generation
	// costs no round trip of its own.
	epoch := n.roster.KeyEpoch()
	x, p, err := n.logins.TakeExchange(r.Context(), in.Token, epoch.Op)
	switch {
	case errors.Is(err, login.ErrNoExchange):
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeInvalidExchangeToken)
		return
	case err != nil:
		n.log.Error(r, "taking an exchange token", zap.Error(err))
		protocol.WriteError(w, http.StatusServiceUnavailable, protocol.CodeServiceUnavailable)
		return
	}
	// The stock site names its own listen address; the guard that saw the
	// token arrive recorded the public callback. A token that never passed
	// a guard must come with its exact callback.
	callback := in.Callback
	if recorded, ok := n.cfg.Callbacks.Take(in.Token); ok {
		callback = recorded
	}
	t, err := n.roster.Targets(r.Context(), p).Check(callback)
	if err != nil || t.URL != x.Callback {
		n.log.Info(r, "exchange token redeemed for another callback", zap.String("project", p.Slug))
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeInvalidCallbackTarget)
		return
	}
	// The role as it is now: the permissions the site keeps until the
	// next login.
	x.Role, err = n.roster.RoleSince(r.Context(), p, x.Login, x.Emails, time.Time{})
	if err != nil {
		n.log.Error(r, "checking a member", zap.String("project", p.Slug), zap.Error(err))
		protocol.WriteError(w, http.StatusServiceUnavailable, protocol.CodeServiceUnavailable)
		return
	}
	if x.Role == "" {
		protocol.WriteError(w, http.StatusForbidden, protocol.CodeNotCollaborator)
		return
	}
	gen, err := epoch.Generation(r.Context(), p)
	if err != nil {
		n.log.Error(r, "reading a key generation", zap.String("project", p.Slug), zap.Error(err))
		protocol.WriteError(w, http.StatusServiceUnavailable, protocol.CodeServiceUnavailable)
		return
	}
	// The site keeps the name and avatar; the session need not carry them.
	now := n.cfg.Now()
	c := sessionClaims{Project: p.Slug, KeyGen: gen, Family: newSessionID(),
		End: now.Add(n.cfg.RefreshTTL).Unix(), At: now.Unix(), Member: x.Member}
	c.Name, c.Avatar = "", ""
	session, err := n.issueSession(c)
	if err != nil {
		protocol.WriteError(w, http.StatusInternalServerError, protocol.CodeSessionError)
		return
	}
	reply := exchangeReply{Session: session, User: sessionUser{
		Avatar: x.Avatar, Email: x.Email, Login: x.Login, Name: x.Name,
		Permissions: protocol.Permissions(x.Role),
	}}
	if x.ReturnURL != "" {
		reply.ReturnURL = relay.SiteReturnURL(x.ReturnURL, in.Callback)
	}
	protocol.WriteJSON(w, http.StatusOK, reply)
}

// The replies of #5 and #7. Their fields are in the order of their names,
// as encoding/json writes a map's: the bodies are the same bytes as when
// they were maps.
type (
	exchangeReply struct {
		ReturnURL string      `json:"return_url,omitempty"`
		Session   sessionPair `json:"session"`
		User      sessionUser `json:"user"`
	}
	sessionUser struct {
		Avatar      string   `json:"avatar_url"`
		Email       string   `json:"email"`
		Login       string   `json:"login"`
		Name        string   `json:"name"`
		Permissions []string `json:"permissions"`
	}
	refreshReply struct {
		Session sessionPair `json:"session"`
	}
	// sessionPair is a session's tokens and their ends, Unix seconds.
	sessionPair struct {
		Access         string `json:"access_token"`
		Expires        int64  `json:"expires_at"`
		Refresh        string `json:"refresh_token"`
		RefreshExpires int64  `json:"refresh_token_expires_at"`
	}
)

// issueSession seals a fresh access and refresh token pair of c's family.
// Neither outlives the family.
func (n *Native) issueSession(c sessionClaims) (sessionPair, error) {
	left := time.Unix(c.End, 0).Sub(n.cfg.Now())
	c.ID = ""
	access, accessExp, err := n.seal.Seal(seal.Access, c, min(n.cfg.SessionTTL, left))
	if err != nil {
		return sessionPair{}, err
	}
	c.ID = newSessionID()
	refresh, refreshExp, err := n.seal.Seal(seal.Refresh, c, left)
	if err != nil {
		return sessionPair{}, err
	}
	return sessionPair{
		Access: access, Refresh: refresh,
		Expires:        accessExp.Add(-expiryMargin(min(n.cfg.SessionTTL, left))).Unix(),
		RefreshExpires: refreshExp.Unix(),
	}, nil
}

// maxExpiryMargin is how much earlier than the access token really ends
// the site is told it does (at most; a tenth of a short lifetime). The
// stock site refreshes only once its recorded expires_at has passed, by
// its own clock: a relay whose clock runs ahead of the site's would refuse
// the token first, and the dashboard would meet 401s until then. The
// refresh token's end is the family's and stays exact.
const maxExpiryMargin = time.Minute

// expiryMargin is the margin for an access token lasting ttl.
func expiryMargin(ttl time.Duration) time.Duration {
	return min(maxExpiryMargin, ttl/10)
}

// serveRefresh answers #7 after checking the member, the key and the
// family again. It spends the refresh token and answers a new one of the
// same family, carrying the user's GitHub token, renewed if it expired.
func (n *Native) serveRefresh(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token string `json:"refresh_token"`
	}
	var c sessionClaims
	if err := protocol.ReadJSON(r.Body, &in); err != nil || n.seal.Open(seal.Refresh, in.Token, &c) != nil || c.Family == "" || c.ID == "" {
		protocol.WriteError(w, http.StatusUnauthorized, protocol.CodeSiteRefreshExpired)
		return
	}
	// GitHub's token first: a renewal that fails (GitHub down) leaves the
	// refresh token unspent, for the dashboard to try again later. A token
	// that needs no renewal is spent in the same round trip as the checks
	// (a session the checks refuse leaves a spent marker that nothing
	// reads again: its family or key generation is over for good).
	var spend []*store.Op
	if !c.Credential.Expired(n.cfg.Now()) {
		spend = append(spend, n.spendOp(&c))
	}
	p, err := n.stillValid(r.Context(), &c, spend...)
	if err == nil && spend == nil {
		if err = n.freshGitHub(r, &c); err == nil {
			spend = append(spend, n.spendOp(&c))
			n.cfg.Store.Batch(r.Context(), spend...)
		}
	}
	if err == nil {
		err = n.spendRefresh(r, &c, spend[0])
	}
	switch {
	case errors.Is(err, errUnavailable):
		n.log.Error(r, "refreshing a session", zap.String("project", c.Project), zap.Error(err))
		protocol.WriteError(w, http.StatusServiceUnavailable, protocol.CodeServiceUnavailable)
		return
	case err != nil:
		protocol.WriteError(w, http.StatusUnauthorized, err.Error())
		return
	}
	session, err := n.issueSession(c)
	if err != nil {
		protocol.WriteError(w, http.StatusInternalServerError, protocol.CodeSiteTokenRefreshFailed)
		return
	}
	n.log.Debug(r, "session refreshed", zap.String("project", p.Slug), zap.String("login", c.Login))
	protocol.WriteJSON(w, http.StatusOK, refreshReply{Session: session})
}

// Why a session is refused; each error's text is #7's error code.
var (
	errNotMember   = errors.New(protocol.CodeNotCollaborator)
	errKeyRotated  = errors.New(protocol.CodeSessionRevoked)
	errUnavailable = roster.ErrUnavailable
	// errFamilyEnded: a spent refresh token came back after the grace.
	errFamilyEnded = errors.New(protocol.CodeSessionRevoked)
	// errGitHubEnded: GitHub no longer renews the user's token.
	errGitHubEnded = errors.New(protocol.CodeGitHubTokenExpired)
)

// stillValid re-checks a session's member (by a membership its login
// belongs to), key and family; it updates the role. The store reads of
// the key and the family go in one batch, with with, if any.
func (n *Native) stillValid(ctx context.Context, c *sessionClaims, with ...*store.Op) (*roster.Project, error) {
	p, err := n.roster.Project(ctx, c.Project)
	switch {
	case err != nil:
		return nil, err
	case p == nil:
		// the project was deleted: its sessions end with it
		return nil, errNotMember
	}
	var login time.Time
	if c.At != 0 {
		login = time.Unix(c.At, 0)
	}
	role, err := n.roster.RoleSince(ctx, p, c.Login, c.Emails, login)
	if err != nil {
		return nil, err
	}
	if role == "" {
		return nil, errNotMember
	}
	c.Role = role
	epoch, ended := n.roster.KeyEpoch(), store.GetOp(roster.SessionEndedName(c.Family))
	n.cfg.Store.Batch(ctx, append([]*store.Op{epoch.Op, ended}, with...)...)
	gen, err := epoch.Generation(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUnavailable, err)
	}
	if gen != c.KeyGen {
		return nil, errKeyRotated
	}
	if err := familyAlive(ended); err != nil {
		return nil, err
	}
	return p, nil
}

// sessionFor checks the session of a call from the dashboard (#10, #11)
// and answers the refusal itself. An expired, invalid or revoked session
// gets GitHub's own answer, 401 {"message":"Bad credentials"}: the stock
// dashboard refreshes on exactly that (PROTOCOL.md §8) and is stuck on any
// other. The reason goes to the log. x-project-id may be missing (the site
// sends none after a failed key check); the session names its project, so
// only a header naming another project is refused. On success c.GitHub is
// a GitHub token that has not expired (renewed if need be), and c.token
// the token for the call (repoaccess.go).
func (n *Native) sessionFor(w http.ResponseWriter, r *http.Request) (*sessionClaims, *roster.Project, bool) {
	var c sessionClaims
	token, ok := bearer(r)
	if !ok {
		n.refuseSession(w, r, "no bearer token")
		return nil, nil, false
	}
	if err := n.seal.Open(seal.Access, token, &c); err != nil || c.Family == "" {
		n.refuseSession(w, r, "access token expired or invalid")
		return nil, nil, false
	}
	p, err := n.stillValid(r.Context(), &c)
	if !n.sessionUsable(w, r, &c, err) {
		return nil, nil, false
	}
	if id := r.Header.Values("X-Project-Id"); len(id) > 1 || (len(id) == 1 && id[0] != p.ID) {
		n.log.Info(r, "session refused", zap.String("path", r.URL.Path), zap.String("reason", "x-project-id names another project"), zap.String("project", p.Slug))
		protocol.WriteError(w, http.StatusForbidden, protocol.CodeProjectMismatch)
		return nil, nil, false
	}
	// A browser on another project's site may not use this session.
	if r.Header.Get("Origin") != "" && relay.AllowedOrigin(r, n.roster.Targets(r.Context(), p)) == "" {
		protocol.WriteError(w, http.StatusForbidden, protocol.CodeForbiddenOrigin)
		return nil, nil, false
	}
	// An expired GitHub token is renewed for this call; the next session
	// refresh carries the renewed one on. A session without one uses the
	// relay's GitHub App.
	if !n.sessionUsable(w, r, &c, n.repositoryToken(r, &c, p)) {
		return nil, nil, false
	}
	return &c, p, true
}

// sessionUsable answers err of a session check, if any, and reports
// whether the call may go on.
func (n *Native) sessionUsable(w http.ResponseWriter, r *http.Request, c *sessionClaims, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, errUnavailable):
		n.log.Error(r, "checking a session", zap.String("project", c.Project), zap.Error(err))
		protocol.WriteError(w, http.StatusServiceUnavailable, protocol.CodeServiceUnavailable)
	case errors.Is(err, errNoRepositoryAccess):
		n.log.Warn(r, "session refused: it has no GitHub token (a dev, Google or e-mail login) and the relay has no github_app block", zap.String("path", r.URL.Path), zap.String("project", c.Project), zap.String("fix", "give the relay a github_app block with an App installed on the project's repository, or sign in with GitHub"))
		writeNoRepositoryAccess(w)
	default:
		n.refuseSession(w, r, err.Error())
	}
	return false
}

// refuseSession answers as GitHub does to a bad token, and logs why.
func (n *Native) refuseSession(w http.ResponseWriter, r *http.Request, reason string) {
	n.log.Info(r, "session refused", zap.String("path", r.URL.Path), zap.String("reason", reason))
	writeBadCredentials(w)
}

// writeBadCredentials writes GitHub's 401 for a bad token.
func writeBadCredentials(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(`{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`))
}
