package login

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	netmail "net/mail"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/identity"
	"github.com/caddy-outstatic/caddy-outstatic/mail"
	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/ratelimit"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/relay/seal"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// E-mail logins (#4, request-magic-link). The site asks for a link for an
// address; the answer is the same whether or not the address is a member
// (no enumeration): everything that depends on membership (the lookup,
// minting the link, sending the message) happens after the reply, in the
// background, so neither the status, the body nor the time tells. A
// member gets a message with a single-use link to the relay's verify
// route (ServeStart below), which ends at the site's magic-link-callback with
// an exchange token, as GitHub's hop ends at its callback.
//
// Rate limits are checked before anything else is spent, and count every
// request alike, member or not: a 429 says only that this client, or this
// address, asked too often, never whether the address is a member. They
// are kept per project (limitKey), in three tiers, each spent only once
// the one before it passed:
//   - per client: a client's whole rate, whatever it asks for;
//   - per client and address: how many links one client can have sent to
//     one inbox, so that a client asking again and again for someone
//     else's address spends that client's budget, not the address's;
//   - per address: how many links an inbox gets in all, from every client.
//
// The client is the browser the guard names on its keyed call
// (relay.ClaimedClient);
// when the site calls the relay itself (the stock site does not pass the
// browser's address on) it is the site's server, so the per-client limit
// then bounds the whole site's rate. The stock site turns the 429 into a
// 500 and its form shows nothing; the person waits and tries again. The
// buckets live in each instance's memory, bounded in keys
// (ratelimit.DefaultMaxKeys each): behind several instances a client gets
// the limit once per instance, which still bounds it.

// The link's page. Mail scanners and link previews GET every link in a
// message, so a GET must not spend it: the link shows a small form (no
// JavaScript needed) whose POST spends the link and redirects to the site.
// The form carries a CSRF token bound to a cookie the page set
// (SameSite=Strict, so another site cannot post the form with it) and to
// the link, so that another site cannot log a browser in with a link of
// its own choosing (login CSRF).

// Email configures e-mail (magic link) logins.
type Email struct {
	// Mail is the SMTP relay the messages go through, and their sender.
	Mail mail.Config
	// LinkTTL is how long a link works; default DefaultLinkTTL.
	LinkTTL time.Duration
}

// DefaultLinkTTL is how long a login link works unless configured.
const DefaultLinkTTL = 15 * time.Minute

// maxLinkTTL bounds link_ttl: a login link is a password sent in clear
// through mail servers, so it must not live long.
const maxLinkTTL = 24 * time.Hour

// Check reports what is wrong with cfg's own values (the SMTP settings
// are mail.NewSender's to check).
func (cfg Email) Check() error {
	if cfg.LinkTTL < 0 || cfg.LinkTTL > maxLinkTTL {
		return errors.New("email link_ttl must be positive and at most 24h")
	}
	return nil
}

// Rate limits of magic-link requests, per project: per client, a burst of
// 30 and one every two seconds; per client and address, three at once and
// then one every two minutes; per address, ten at once and then one every
// ten minutes.
var (
	LinkLimitPerClient        = ratelimit.Config{Every: 2 * time.Second, Burst: 30}
	LinkLimitPerClientAddress = ratelimit.Config{Every: 2 * time.Minute, Burst: 3}
	LinkLimitPerAddress       = ratelimit.Config{Every: 10 * time.Minute, Burst: 10}
)

// emailLogin sends login links and answers their page and form.
type emailLogin struct {
	l       *Logins
	sender  *mail.Sender
	ttl     time.Duration
	limits  [3]*ratelimit.Limiter // per client, per client and address, per address (LinkLimit*)
	sending sync.WaitGroup        // messages on their way (Logins.Wait)
}

func newEmailLogin(s Setup) (Provider, error) {
	cfg := s.Config.Email
	if cfg == nil {
		return nil, nil
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	ttl := cfg.LinkTTL
	if ttl == 0 {
		ttl = DefaultLinkTTL
	}
	sender, err := mail.NewSender(cfg.Mail)
	if err != nil {
		return nil, err
	}
	e := &emailLogin{l: s.l, sender: sender, ttl: ttl}
	for i, c := range []ratelimit.Config{LinkLimitPerClient, LinkLimitPerClientAddress, LinkLimitPerAddress} {
		c.Now = s.Config.Now
		if e.limits[i], err = ratelimit.New(c); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Name is "email".
func (e *emailLogin) Name() string { return "email" }

// allow spends one request of client for address in p, tier by tier: a
// tier that refuses spends nothing of the ones after it.
func (e *emailLogin) allow(p *roster.Project, client, address string) bool {
	keys := [3]string{limitKey(p, client), limitKey(p, client+"\n"+address), limitKey(p, address)}
	for i, l := range e.limits {
		if !l.Allow(keys[i]) {
			return false
		}
	}
	return true
}

// linkPayload is what a login link stands for, sealed in the store under
// the link token's hash.
type linkPayload struct {
	Project   string `json:"p"`
	Callback  string `json:"c"`
	ReturnURL string `json:"r,omitempty"`
	Email     string `json:"e"`
}

// ServeExchange answers #4, request-magic-link.
func (e *emailLogin) ServeExchange(w http.ResponseWriter, r *http.Request, p *roster.Project) {
	var in struct {
		Email string `json:"email"`
	}
	s, ok := e.l.readStart(w, r, p, SlotEmail.Exchange, true, &in)
	if !ok {
		return
	}
	addr, err := loginAddress(in.Email)
	if err != nil {
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeInvalidRequest)
		return
	}
	client, err := relay.ClaimedClient(r, e.l.ownClient(r))
	if err != nil {
		e.l.log.Info(r, "magic link refused: malformed client header", zap.String("project", p.Slug))
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeInvalidRequest)
		return
	}
	if !e.allow(p, client, roster.MemberKey(addr.Address)) {
		e.l.log.Info(r, "magic link refused: rate limited", zap.String("project", p.Slug), zap.String("client", client))
		e.l.count(e.Name(), Refused, protocol.CodeTooManyRequests)
		w.Header().Set("Retry-After", "120")
		protocol.WriteError(w, http.StatusTooManyRequests, protocol.CodeTooManyRequests)
		return
	}
	e.l.count(e.Name(), Started, "")
	link := linkPayload{Project: p.Slug, Callback: s.callback, ReturnURL: s.returnURL, Email: addr.Address}
	e.sending.Add(1)
	go func() {
		defer e.sending.Done()
		e.sendLink(p, link, e.l.log.ID.Field(r))
	}()
	protocol.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// sendLink mints and sends the link of a member or of an address with a
// pending invitation (the login accepts it); for anyone else it does
// nothing. It runs after the reply: id is the request's id, taken while
// the request was served.
func (e *emailLogin) sendLink(p *roster.Project, link linkPayload, id zap.Field) {
	ctx, cancel := context.WithTimeout(context.Background(), mail.DefaultTimeout+5*time.Second)
	defer cancel()
	log := e.l.log.Log.With(zap.String("project", p.Slug), id)
	if ok, err := e.l.cfg.Roster.MayLogIn(ctx, p, link.Email); err != nil || !ok {
		log.Info("magic link not sent: not a member", zap.Error(err))
		return
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		log.Error("minting a login link", zap.Error(err))
		return
	}
	token := "ml_" + base64.RawURLEncoding.EncodeToString(raw)
	sealed, _, err := e.l.cfg.Seal.Seal(seal.Link, link, e.ttl)
	if err == nil {
		err = e.l.cfg.Store.Put(ctx, roster.LinkName(token), []byte(sealed), e.ttl)
	}
	if err != nil {
		log.Error("storing a login link", zap.Error(err))
		return
	}
	msg, err := mail.LoginMessage(mail.Login{To: link.Email, Site: p.Slug,
		Link: e.l.base + protocol.EmailVerify.Path + "?t=" + token, ValidFor: e.ttl})
	if err == nil {
		err = e.sender.Send(ctx, msg)
	}
	if err != nil {
		// The error names the SMTP step, never the link or the password.
		log.Warn("sending a login link failed", zap.Error(err))
		return
	}
	log.Info("login link sent")
}

// loginAddress parses the address a magic link is asked for: one bare
// address (no display name, comment or angle brackets) that the mailer
// sends to. The address is its key: the link goes to the mailbox the key
// names, the one a member with that key is.
func loginAddress(s string) (*netmail.Address, error) {
	k, err := identity.Email(s)
	if err != nil {
		return nil, err
	}
	if !mail.ValidAddress(k) {
		return nil, errors.New("not an address the mailer sends to")
	}
	return &netmail.Address{Address: k}, nil
}

//go:embed pages/email_confirm.html pages/page.css
var pageFiles embed.FS

var (
	confirmPage = template.Must(template.ParseFS(pageFiles, "pages/email_confirm.html"))
	pageCSS     = func() template.CSS {
		b, err := pageFiles.ReadFile("pages/page.css")
		if err != nil {
			panic(err)
		}
		return template.CSS(b)
	}()
)

// csrfCookie holds the browser's half of the confirmation form's CSRF token.
const csrfCookie = "ost_relay_csrf"

// confirmData fills the page: a form when Token is set, else Message.
type confirmData struct {
	Title, Message      string
	Site, Email         string
	Token, CSRF, Action string
	CSS                 template.CSS
}

// writePage answers with the page; status is its HTTP status.
func (e *emailLogin) writePage(w http.ResponseWriter, r *http.Request, status int, d confirmData) {
	d.CSS = pageCSS
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The link's token is in the URL: it must not leak by Referer, and
	// the button must not be clickable through another site's frame.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	if err := confirmPage.Execute(w, d); err != nil {
		e.l.log.Error(r, "writing the login link page", zap.Error(err))
	}
}

// The texts of the page for a link that cannot be used.
const (
	linkGone        = "This sign-in link has expired or was already used. Ask for a new one from the sign-in page."
	linkUnavailable = "Signing in is not possible right now. Try again in a moment."
)

// refuseLink answers a link that cannot be used.
func (e *emailLogin) refuseLink(w http.ResponseWriter, r *http.Request, status int, message string) {
	e.writePage(w, r, status, confirmData{Title: "Sign-in link", Message: message})
}

// link reads the link of token, spending it if take (a link is good for
// one login, across every instance) and reading it only otherwise. It
// answers a link that cannot be used itself.
func (e *emailLogin) link(w http.ResponseWriter, r *http.Request, token string, take bool) (linkPayload, *roster.Project, bool) {
	read := e.l.cfg.Store.Get
	if take {
		read = e.l.cfg.Store.Take
	}
	var l linkPayload
	data, err := read(r.Context(), roster.LinkName(token))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		e.l.log.Error(r, "reading a login link", zap.Bool("spending", take), zap.Error(err))
		e.refuseLink(w, r, http.StatusServiceUnavailable, linkUnavailable)
		return l, nil, false
	}
	var p *roster.Project
	if err == nil && e.l.cfg.Seal.Open(seal.Link, string(data), &l) == nil {
		if p, err = e.l.cfg.Roster.Project(r.Context(), l.Project); err != nil {
			e.l.log.Error(r, "reading the projects", zap.Error(err))
			e.refuseLink(w, r, http.StatusServiceUnavailable, linkUnavailable)
			return l, nil, false
		}
	}
	if p == nil {
		e.refuseLink(w, r, http.StatusGone, linkGone)
		return l, nil, false
	}
	return l, p, true
}

// cookiePath is the confirm route's public path: the relay may live under
// a path of its own (OUTSTATIC_API_URL's).
func (e *emailLogin) cookiePath() string {
	return strings.TrimSuffix(e.l.cfg.PublicURL.Path, "/") + protocol.EmailConfirm.Path
}

// csrfFor is the form's CSRF token for the cookie value and link token.
func (e *emailLogin) csrfFor(cookie, token string) string {
	return base64.RawURLEncoding.EncodeToString(e.l.cfg.Seal.Derive(seal.CSRF, []byte(cookie+"\n"+token)))
}

// ServeStart shows the confirmation form for a link that still works.
func (e *emailLogin) ServeStart(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("t")
	if token == "" || len(token) > 128 {
		e.refuseLink(w, r, http.StatusBadRequest, "This sign-in link is not valid.")
		return
	}
	l, p, ok := e.link(w, r, token, false)
	if !ok {
		return
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	cookie := base64.RawURLEncoding.EncodeToString(raw)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: cookie, Path: e.cookiePath(),
		MaxAge: int(e.ttl.Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: e.l.cfg.PublicURL.Scheme == "https"})
	e.writePage(w, r, http.StatusOK, confirmData{Title: "Sign in to " + p.Slug, Site: p.Slug, Email: l.Email,
		Token: token, CSRF: e.csrfFor(cookie, token), Action: e.l.base + protocol.EmailConfirm.Path})
}

// ServeCallback spends the link and completes the login: the browser
// goes to the site's magic-link callback with an exchange token.
func (e *emailLogin) ServeCallback(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		e.refuseLink(w, r, http.StatusBadRequest, "This sign-in form is not valid.")
		return
	}
	token, sent := r.PostForm.Get("t"), r.PostForm.Get("csrf")
	c, err := r.Cookie(csrfCookie)
	if err != nil || token == "" || len(token) > 128 ||
		subtle.ConstantTimeCompare([]byte(sent), []byte(e.csrfFor(c.Value, token))) != 1 {
		e.l.log.Info(r, "login link refused", zap.String("reason", "csrf token missing or wrong"))
		e.refuseLink(w, r, http.StatusForbidden, "This sign-in form expired. Open the link from your e-mail again.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Path: e.cookiePath(), MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: e.l.cfg.PublicURL.Scheme == "https"})
	l, p, ok := e.link(w, r, token, true)
	if !ok {
		return
	}
	if t, cerr := e.l.cfg.Roster.Targets(r.Context(), p).Check(l.Callback); cerr != nil || t.URL != l.Callback {
		e.refuseLink(w, r, http.StatusBadRequest, "This sign-in link's site is no longer accepted.")
		return
	}
	st := loginState{Project: p.Slug, Callback: l.Callback, ReturnURL: l.ReturnURL}
	e.l.complete(w, r, e.Name(), p, st, Member{Email: l.Email, Emails: []string{l.Email}},
		func() { e.refuseLink(w, r, http.StatusServiceUnavailable, linkUnavailable) })
}

// Interface guard
var _ SlotServer = (*emailLogin)(nil)

// Wait waits until the e-mail links on their way (sent after the reply)
// have been sent, or have failed: a test that reads the mailbox, or that
// a stranger was sent nothing, waits for it first.
func (l *Logins) Wait() {
	if e, ok := l.bySlot[SlotEmail].(*emailLogin); ok {
		e.sending.Wait()
	}
}
