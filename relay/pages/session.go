package pages

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/relay/login"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// The pages' own session: a cookie sealed by the relay (any instance that
// shares its secret opens it), HttpOnly, SameSite=Lax, Secure and
// __Host- prefixed on https, and short-lived. It carries the user and the
// session's CSRF token: every form sends the token back, compared in
// constant time, so a form posted from elsewhere is refused.

// sessionTTL is how long a sign-in to the pages lasts.
const sessionTTL = time.Hour

// signInTTL bounds the trip to the provider and back.
const signInTTL = 10 * time.Minute

// session is what the session cookie holds.
type session struct {
	User login.PageUser `json:"u"`
	CSRF string         `json:"x"`
}

// checkCSRF reports whether token is the session's CSRF token.
func (s *session) checkCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}

// cookieName is name with the __Host- prefix when the pages are on https.
func (p *Pages) cookieName(name string) string {
	if p.secure {
		return "__Host-" + name
	}
	return name
}

// setCookie sets (or, with a negative ttl, clears) one of the pages' cookies.
func (p *Pages) setCookie(w http.ResponseWriter, name, value string, ttl time.Duration) {
	c := &http.Cookie{Name: p.cookieName(name), Value: value, Path: "/", HttpOnly: true,
		Secure: p.secure, SameSite: http.SameSiteLaxMode, MaxAge: int(ttl / time.Second)}
	if ttl < 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

func (p *Pages) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(p.cookieName(name))
	if err != nil {
		return ""
	}
	return c.Value
}

// readSession opens the session cookie; nil for none, or one that does
// not open (forged, expired), or one signed out: the cookie is sealed, so
// a copy of it would outlive the sign-out without the store's record.
// A store that cannot say counts as signed out.
func (p *Pages) readSession(r *http.Request) *session {
	raw := p.cookie(r, "ost_pages")
	if raw == "" {
		return nil
	}
	var s session
	// A user an OpenID Connect issuer vouches for has verified addresses
	// and no GitHub login: either names them.
	if p.signIn.OpenPage(raw, &s) != nil || s.User.Login == "" && len(s.User.Emails) == 0 || s.CSRF == "" {
		return nil
	}
	ended, err := p.signIn.PageEnded(r.Context(), s.CSRF)
	if err != nil {
		p.log.Error(r, "pages: reading whether a session was signed out", zap.Error(err))
		return nil
	}
	if ended {
		return nil
	}
	return &s
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// pageNames are the pages a sign-in may return to: the only places it
// redirects, so that it redirects nowhere else.
var pageNames = []string{"members", "api-keys", "activity"}

// nextPage is the page a sign-in returns to.
func nextPage(v string) string {
	if slices.Contains(pageNames, v) {
		return v
	}
	return "members"
}

// userName is how the audit log names u: the key of their login, else of
// their address.
func userName(u login.PageUser) string {
	if k := roster.MemberKey(u.Login); k != "" {
		return k
	}
	if k := roster.MemberKey(u.Email); k != "" {
		return k
	}
	return u.Login
}

// signInData is the sign-in page's.
type signInData struct {
	Providers []provider
	Error     string
}

type provider struct{ Name, Title, URL string }

// signInErrors are the texts for the codes a sign-in comes back with.
var signInErrors = map[string]string{
	protocol.CodeInvalidState:      "The sign-in took too long or was already used. Try again.",
	protocol.CodeGitHubRelayFailed: "The sign-in did not complete. Try again.",
	protocol.CodeMissingUserData:   "The provider did not say who you are. Try again.",
	protocol.CodeSignInFailed:      "The sign-in did not complete. Try again.",
	protocol.CodeSignInTicket:      "The sign-in was not for this browser, or was used already. Try again.",
	protocol.CodeSignInProvider:    "There is no such way to sign in.",
}

// serveSignIn shows the sign-in buttons, starts a sign-in with one
// (?provider=), and ends one (?ticket= or ?error= from the relay).
func (p *Pages) serveSignIn(q *request) {
	v := q.r.URL.Query()
	switch {
	case v.Has("ticket"):
		p.endSignIn(q, v.Get("ticket"))
	case v.Has("provider"):
		p.startSignIn(q, v.Get("provider"), nextPage(v.Get("next")))
	default:
		data := signInData{}
		if code := v.Get("error"); code != "" {
			data.Error = signInErrors[code]
			if data.Error == "" {
				data.Error = signInErrors[protocol.CodeSignInFailed]
			}
		}
		next := nextPage(v.Get("next"))
		for _, name := range p.signIn.SignInProviders() {
			data.Providers = append(data.Providers, provider{Name: name, Title: providerTitle(name),
				URL: q.base + "/signin?provider=" + url.QueryEscape(name) + "&next=" + next})
		}
		status := http.StatusOK
		if data.Error != "" {
			status = http.StatusBadRequest
		}
		p.render(q, status, "signin", data)
	}
}

// providerTitle is how a provider's button names it.
func providerTitle(name string) string {
	switch name {
	case "github":
		return "GitHub"
	case "oidc":
		return "single sign-on"
	}
	// An OpenID Connect provider is "oidc:<name>": its button says <name>.
	name = strings.TrimPrefix(name, "oidc:")
	return strings.ToUpper(name[:1]) + name[1:]
}

// startSignIn sends the browser to the provider, with a cookie that binds
// the sign-in to this browser and remembers where it returns.
func (p *Pages) startSignIn(q *request, name, next string) {
	u, nonce, err := p.signIn.PageSignInURL(q.r, name, q.slug(),
		p.signIn.PublicBase()+protocol.Pages.Path+strings.TrimPrefix(q.base, p.root)+"/signin")
	if err != nil {
		http.Redirect(q.w, q.r, q.base+"/signin?error="+protocol.CodeSignInProvider, http.StatusSeeOther)
		return
	}
	p.setCookie(q.w, "ost_pages_signin", nonce+"."+next, signInTTL)
	http.Redirect(q.w, q.r, u, http.StatusFound)
}

// endSignIn turns the relay's ticket into the pages' session.
func (p *Pages) endSignIn(q *request, ticket string) {
	nonce, next, _ := strings.Cut(p.cookie(q.r, "ost_pages_signin"), ".")
	p.setCookie(q.w, "ost_pages_signin", "", -1)
	u, err := p.signIn.OpenPageTicket(q.r.Context(), ticket, nonce)
	if err != nil {
		p.log.Info(q.r, "pages: sign-in ticket refused", zap.String("project", q.slug()), zap.Error(err))
		http.Redirect(q.w, q.r, q.base+"/signin?error="+protocol.CodeSignInTicket+"&next="+nextPage(next), http.StatusSeeOther)
		return
	}
	sealed, err := p.signIn.SealPage(session{User: u, CSRF: randomToken()}, sessionTTL)
	if err != nil {
		http.Redirect(q.w, q.r, q.base+"/signin?error="+protocol.CodeSignInFailed, http.StatusSeeOther)
		return
	}
	p.setCookie(q.w, "ost_pages", sealed, sessionTTL)
	p.log.Info(q.r, "pages: signed in", zap.String("project", q.slug()), zap.String("login", u.Login))
	http.Redirect(q.w, q.r, q.pageURL(nextPage(next)), http.StatusSeeOther)
}

// serveSignOut ends the session; its form carries the CSRF token too, so
// that nobody signs a user out from elsewhere.
func (p *Pages) serveSignOut(q *request) {
	s := p.readSession(q.r)
	if s == nil || !s.checkCSRF(q.r.PostFormValue("csrf")) {
		p.message(q.w, q.r, http.StatusForbidden, "Form expired", "This form is not valid any more. Reload the page and try again.")
		return
	}
	if err := p.signIn.EndPage(q.r.Context(), s.CSRF, sessionTTL); err != nil {
		p.log.Error(q.r, "pages: signing out", zap.String("project", q.slug()), zap.Error(err))
		p.message(q.w, q.r, http.StatusServiceUnavailable, "Unavailable", "You could not be signed out right now. Try again.")
		return
	}
	p.setCookie(q.w, "ost_pages", "", -1)
	p.log.Info(q.r, "pages: signed out", zap.String("project", q.slug()), zap.String("login", s.User.Login))
	where := "the Projects page"
	if q.project != nil {
		where = "the pages of " + q.project.Slug
	}
	p.roster.Audit().Record(q.r.Context(), audit.Event{Kind: audit.SignOut, Project: q.slug(),
		By: userName(s.User), Member: userName(s.User), What: userName(s.User) + " signed out of " + where})
	http.Redirect(q.w, q.r, q.base+"/signin", http.StatusSeeOther)
}

// messageData is the message page's.
type messageData struct{ Title, Text string }

// message answers with a page that says only what went wrong.
func (p *Pages) message(w http.ResponseWriter, r *http.Request, status int, title, text string) {
	p.render(&request{w: w, r: r}, status, "message", messageData{Title: title, Text: text})
}

// layoutData is what the layout shows around every page.
type layoutData struct {
	Title   string
	Root    string
	Base    string
	Page    string
	Project *roster.Project
	User    *login.PageUser
	Role    string
	CSRF    string
	Data    any
}

// render writes the named page.
func (p *Pages) render(q *request, status int, name string, data any) {
	ld := layoutData{Root: p.root, Base: q.base, Page: q.page, Project: q.project, Role: q.role, Data: data}
	if q.sess != nil {
		ld.User, ld.CSRF = &q.sess.User, q.sess.CSRF
	}
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	q.w.WriteHeader(status)
	if err := p.tmpl[name].ExecuteTemplate(q.w, "layout", ld); err != nil {
		p.log.Error(q.r, "pages: rendering", zap.String("page", name), zap.Error(err))
	}
}
