package native

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// The login link's page. Mail scanners and link previews GET every link
// in a message, so a GET must not spend it: the link shows a small form
// (no JavaScript needed) whose POST spends the link and redirects to the
// site. The form carries a CSRF token bound to a cookie the page set
// (SameSite=Strict, so another site cannot post the form with it) and to
// the link, so that another site cannot log a browser in with a link of
// its own choosing (login CSRF).

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
func (n *Native) writePage(w http.ResponseWriter, status int, d confirmData) {
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
		n.log.Error("writing the login link page", zap.Error(err))
	}
}

// refuseLink answers a link that cannot be used.
func (n *Native) refuseLink(w http.ResponseWriter, status int, message string) {
	n.writePage(w, status, confirmData{Title: "Sign-in link", Message: message})
}

const linkGone = "This sign-in link has expired or was already used. Ask for a new one from the sign-in page."

// openLink reads a link's payload without spending it.
func (n *Native) openLink(data []byte) (linkPayload, *Project, error) {
	var l linkPayload
	if err := n.seal.open(purposeLink, string(data), &l); err != nil {
		return l, nil, err
	}
	p := n.projects[l.Project]
	if p == nil {
		return l, nil, errSealed
	}
	return l, p, nil
}

// cookiePath is the confirm route's public path: the relay may live under
// a path of its own (OUTSTATIC_API_URL's).
func (n *Native) cookiePath() string {
	return strings.TrimSuffix(n.cfg.PublicURL.Path, "/") + protocol.EmailConfirm.Path
}

// csrfFor is the form's CSRF token for the cookie value and link token.
func (n *Native) csrfFor(cookie, token string) string {
	return base64.RawURLEncoding.EncodeToString(n.seal.derive(purposeCSRF, []byte(cookie+"\n"+token)))
}

// serveEmailVerify shows the confirmation form for a link that still works.
func (n *Native) serveEmailVerify(w http.ResponseWriter, r *http.Request) {
	if n.email == nil {
		protocol.WriteError(w, http.StatusNotFound, protocol.CodeNotFound)
		return
	}
	token := r.URL.Query().Get("t")
	if token == "" || len(token) > 128 {
		n.refuseLink(w, http.StatusBadRequest, "This sign-in link is not valid.")
		return
	}
	data, err := n.cfg.Store.Get(r.Context(), linkName(token))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		n.log.Error("reading a login link", zap.Error(err))
		n.refuseLink(w, http.StatusServiceUnavailable, "Signing in is not possible right now. Try again in a moment.")
		return
	}
	var l linkPayload
	var p *Project
	if err == nil {
		l, p, err = n.openLink(data)
	}
	if err != nil {
		n.refuseLink(w, http.StatusGone, linkGone)
		return
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	cookie := base64.RawURLEncoding.EncodeToString(raw)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: cookie, Path: n.cookiePath(),
		MaxAge: int(n.email.ttl.Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: n.cfg.PublicURL.Scheme == "https"})
	n.writePage(w, http.StatusOK, confirmData{Title: "Sign in to " + p.Slug, Site: p.Slug, Email: l.Email,
		Token: token, CSRF: n.csrfFor(cookie, token), Action: n.base + protocol.EmailConfirm.Path})
}

// serveEmailConfirm spends the link and sends the browser to the site's
// magic-link callback with an exchange token.
func (n *Native) serveEmailConfirm(w http.ResponseWriter, r *http.Request) {
	if n.email == nil {
		protocol.WriteError(w, http.StatusNotFound, protocol.CodeNotFound)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		n.refuseLink(w, http.StatusBadRequest, "This sign-in form is not valid.")
		return
	}
	token, sent := r.PostForm.Get("t"), r.PostForm.Get("csrf")
	c, err := r.Cookie(csrfCookie)
	if err != nil || token == "" || len(token) > 128 ||
		subtle.ConstantTimeCompare([]byte(sent), []byte(n.csrfFor(c.Value, token))) != 1 {
		n.log.Info("login link refused", zap.String("reason", "csrf token missing or wrong"))
		n.refuseLink(w, http.StatusForbidden, "This sign-in form expired. Open the link from your e-mail again.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Path: n.cookiePath(), MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: n.cfg.PublicURL.Scheme == "https"})
	// Take: a link is good for one login, across every instance.
	data, err := n.cfg.Store.Take(r.Context(), linkName(token))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		n.log.Error("taking a login link", zap.Error(err))
		n.refuseLink(w, http.StatusServiceUnavailable, "Signing in is not possible right now. Try again in a moment.")
		return
	}
	var l linkPayload
	var p *Project
	if err == nil {
		l, p, err = n.openLink(data)
	}
	if err != nil {
		n.refuseLink(w, http.StatusGone, linkGone)
		return
	}
	if t, cerr := n.targets(r.Context(), p).Check(l.Callback); cerr != nil || t.URL != l.Callback {
		n.refuseLink(w, http.StatusBadRequest, "This sign-in link's site is no longer accepted.")
		return
	}
	m := member{Email: l.Email, Emails: []string{l.Email}}
	// The same membership check as every login's: a pending invitation of
	// the address is accepted here.
	if m.Role, err = n.admit(r.Context(), p, m); err != nil {
		n.log.Error("checking a member", zap.String("project", p.Slug), zap.Error(err))
		n.refuseLink(w, http.StatusServiceUnavailable, "Signing in is not possible right now. Try again in a moment.")
		return
	}
	if m.Role == "" {
		n.log.Info("login refused: not a member", zap.String("project", p.Slug), zap.String("provider", emailProvider))
		n.finish(w, r, emailProvider, l.Callback, protocol.CodeNotCollaborator)
		return
	}
	xt, err := n.mintExchangeToken(r.Context(), exchangePayload{Project: p.Slug, Callback: l.Callback, ReturnURL: l.ReturnURL, member: m})
	if err != nil {
		n.log.Error("minting an exchange token", zap.Error(err))
		n.refuseLink(w, http.StatusServiceUnavailable, "Signing in is not possible right now. Try again in a moment.")
		return
	}
	n.log.Info("login completed", zap.String("project", p.Slug), zap.String("provider", emailProvider), zap.String("role", m.Role))
	n.countLogin(emailProvider, LoginCompleted, "")
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, l.Callback+"?exchange_token="+xt, http.StatusFound)
}
