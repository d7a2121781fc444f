// Package pages serves the relay's own Members and API Keys pages, where
// the stock dashboard's sidebar links go when the site is built with
// NEXT_PUBLIC_OST_APP_URL set to the relay's public URL (PROTOCOL.md §8):
// <public_url>/home/<account_slug>/<project_slug>/members and .../api-keys;
// beside them, a project's Activity page for its owners (activity.go), and
// the operators' Projects page, <public_url>/home/projects (projects.go).
//
// The pages are plain HTML from html/template with one embedded style
// sheet: no build step, nothing from elsewhere, usable without JavaScript
// (one small script of the relay's own adds a copy button). Sign-in uses
// the native relay's login providers; the pages keep their own session
// cookie, sealed by the relay (session.go). Every form carries a CSRF
// token tied to the session; each action needs its permission from the
// signed-in user's role in the project (members.go, apikeys.go).
package pages

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/requestlog"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures the pages.
type Config struct {
	// SignIn is the relay's logins, which the pages sign in with.
	// Required.
	SignIn SignIn
	// Roster is the relay's projects, whose members, keys and callback
	// origins the pages show and change. Required.
	Roster Roster
	// Operators may make and delete projects on the Projects page;
	// default: nobody.
	Operators roster.Operators
	// Logger logs every change, without secrets; default: none.
	Logger *zap.Logger
	// RequestID names the request in the entries written while serving it
	// (requestlog). Default: none.
	RequestID requestlog.Source
}

// Pages serves the relay's own pages. It is safe for concurrent use.
type Pages struct {
	signIn    SignIn
	roster    Roster
	operators roster.Operators
	log       requestlog.Logger
	tmpl      map[string]*template.Template
	static    http.Handler
	secure    bool   // the relay is served over https: Secure, __Host- cookies
	root      string // the pages' URL path root: public URL's path + /home/
}

// New builds the pages for cfg.
func New(cfg Config) (*Pages, error) {
	if cfg.SignIn == nil || cfg.Roster == nil {
		return nil, errors.New("pages: the relay's logins and roster are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	p := &Pages{signIn: cfg.SignIn, roster: cfg.Roster, operators: cfg.Operators, log: requestlog.New(cfg.Logger, cfg.RequestID), tmpl: map[string]*template.Template{},
		secure: strings.HasPrefix(cfg.SignIn.PublicBase(), "https://")}
	p.root = pathOf(cfg.SignIn.PublicBase()) + protocol.Pages.Path
	funcs := template.FuncMap{
		"date":    func(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") },
		"stamp":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"initial": func(s string) string { r, _ := utf8.DecodeRuneInString(s); return strings.ToUpper(string(r)) },
	}
	for _, name := range []string{"signin", "members", "apikeys", "activity", "projects", "message"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		p.tmpl[name] = t
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	p.static = http.StripPrefix(p.root+"-/", http.FileServerFS(sub))
	return p, nil
}

// pathOf is the path of an absolute URL without a trailing slash.
func pathOf(abs string) string {
	rest := abs[strings.Index(abs, "://")+3:]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return strings.TrimSuffix(rest[i:], "/")
	}
	return ""
}

// request is what every page knows of the request it answers.
type request struct {
	w       http.ResponseWriter
	r       *http.Request
	project *roster.Project // nil on the Projects page
	base    string          // the project's pages: <root><account>/<project>; <root>projects
	page    string          // "members", "api-keys", "activity", "projects", "signin" or "signout"
	sess    *session
	role    string // the user's in the project; OperatorRole on the Projects page
}

// operatorPage is the path of the Projects page under the root; its
// sign-in and sign-out are below it. It has one segment, a project's
// pages three.
const operatorPage = "projects"

// can reports whether the signed-in user's role grants perm.
func (q *request) can(perm string) bool {
	return slices.Contains(protocol.Permissions(q.role), perm)
}

// ServeHTTP answers the pages' routes: <root>-/<file> and
// <root><account>/<project>/<page>.
func (p *Pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	path, ok := strings.CutPrefix(r.URL.Path, protocol.Pages.Path)
	if !ok {
		p.message(w, r, http.StatusNotFound, "Not found", "There is no such page.")
		return
	}
	// The style sheet and the script live under "-/": no account is
	// named "-" (GitHub names cannot start with one).
	if strings.HasPrefix(path, "-/") {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		r2 := r.Clone(r.Context())
		r2.URL.Path = p.root + path
		p.static.ServeHTTP(w, r2)
		return
	}
	parts := strings.Split(path, "/")
	if parts[0] == operatorPage && len(parts) <= 2 {
		p.serveOperator(w, r, parts[1:])
		return
	}
	if len(parts) != 3 {
		p.message(w, r, http.StatusNotFound, "Not found", "There is no such page.")
		return
	}
	proj, err := p.roster.ProjectAt(r.Context(), parts[0], parts[1])
	if err != nil {
		p.log.Error(r, "pages: reading the projects", zap.Error(err))
		p.message(w, r, http.StatusServiceUnavailable, "Unavailable", "The projects cannot be read right now. Try again.")
		return
	}
	if proj == nil {
		p.message(w, r, http.StatusNotFound, "Not found", "This relay serves no such project.")
		return
	}
	q := &request{w: w, r: r, project: proj, page: parts[2],
		base: p.root + proj.Account + "/" + proj.Slug}
	switch q.page {
	case "signin":
		p.only(q, p.serveSignIn, http.MethodGet)
	case "signout":
		p.only(q, p.serveSignOut, http.MethodPost)
	case "members":
		p.only(q, p.serveMembers, http.MethodGet, http.MethodPost)
	case "api-keys":
		p.only(q, p.serveAPIKeys, http.MethodGet, http.MethodPost)
	case "activity":
		p.only(q, p.serveActivity, http.MethodGet)
	default:
		p.message(w, r, http.StatusNotFound, "Not found", "There is no such page.")
	}
}

// serveOperator answers the Projects page (rest empty) and its sign-in
// and sign-out.
func (p *Pages) serveOperator(w http.ResponseWriter, r *http.Request, rest []string) {
	q := &request{w: w, r: r, page: operatorPage, base: p.root + operatorPage}
	if len(rest) == 1 {
		q.page = rest[0]
	}
	switch q.page {
	case operatorPage:
		p.only(q, p.serveProjects, http.MethodGet, http.MethodPost)
	case "signin":
		p.only(q, p.serveSignIn, http.MethodGet)
	case "signout":
		p.only(q, p.serveSignOut, http.MethodPost)
	default:
		p.message(w, r, http.StatusNotFound, "Not found", "There is no such page.")
	}
}

// only calls h for a request with one of methods, 405 otherwise.
func (p *Pages) only(q *request, h func(*request), methods ...string) {
	if !slices.Contains(methods, q.r.Method) {
		q.w.Header().Set("Allow", strings.Join(methods, ", "))
		p.message(q.w, q.r, http.StatusMethodNotAllowed, "Method not allowed", "This page does not answer "+q.r.Method+".")
		return
	}
	h(q)
}

// setSecurityHeaders keeps the pages out of frames, caches and the reach
// of anything not the relay's own.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// authorize finds the session and the user's role in the project. A GET
// without a session goes to the sign-in page; anything else is answered
// here: a POST without a session or its CSRF token gets 403, a user who
// is not a member gets 403, and one whose role lacks every one of perms
// gets 403.
func (p *Pages) authorize(q *request, perms ...string) bool {
	if !p.signedIn(q) {
		return false
	}
	// The membership the sign-in was made under: a member removed and
	// added again since signs in again.
	var since time.Time
	if at := q.sess.User.At; at != 0 {
		since = time.Unix(at, 0)
	}
	role, err := p.roster.RoleSince(q.r.Context(), q.project, q.sess.User.Login, q.sess.User.Emails, since)
	if err != nil {
		p.log.Error(q.r, "pages: reading members", zap.String("project", q.project.Slug), zap.Error(err))
		p.message(q.w, q.r, http.StatusServiceUnavailable, "Unavailable", "The members cannot be read right now. Try again.")
		return false
	}
	q.role = role
	if role == "" {
		p.render(q, http.StatusForbidden, "message", messageData{Title: "Not a member",
			Text: "You are signed in as " + userName(q.sess.User) + ", who is not a member of " + q.project.Slug + "."})
		return false
	}
	if !slices.ContainsFunc(perms, q.can) {
		p.render(q, http.StatusForbidden, "message", messageData{Title: "Not allowed",
			Text: "Your role in " + q.project.Slug + " (" + role + ") does not allow this page."})
		return false
	}
	return true
}

// signedIn finds the session of a request to a page that needs one, and
// checks a form's CSRF token; what the request then changes is recorded
// as the signed-in user's. A GET without a session goes to the sign-in
// page; a POST without a session or its CSRF token gets 403.
func (p *Pages) signedIn(q *request) bool {
	q.sess = p.readSession(q.r)
	if q.sess == nil {
		if q.r.Method == http.MethodGet {
			http.Redirect(q.w, q.r, q.base+"/signin?next="+q.page, http.StatusSeeOther)
			return false
		}
		p.message(q.w, q.r, http.StatusForbidden, "Signed out", "Your session ended. Sign in again, then repeat what you did.")
		return false
	}
	if q.r.Method == http.MethodPost && !q.sess.checkCSRF(q.r.PostFormValue("csrf")) {
		p.log.Info(q.r, "pages: form refused without its CSRF token", zap.String("project", q.slug()), zap.String("login", q.sess.User.Login))
		p.message(q.w, q.r, http.StatusForbidden, "Form expired", "This form is not valid any more. Reload the page and try again.")
		return false
	}
	q.r = q.r.WithContext(audit.WithActor(q.r.Context(), audit.Actor{By: userName(q.sess.User)}))
	return true
}

// pageURL is the path of page: one of the project's, or the Projects
// page.
func (q *request) pageURL(page string) string {
	if q.project == nil {
		return q.base
	}
	return q.base + "/" + page
}

// slug is the request's project's slug; "" on the Projects page.
func (q *request) slug() string {
	if q.project == nil {
		return ""
	}
	return q.project.Slug
}

// applyChange applies the form a POST to page (members, api-keys) sends,
// with change: a change made sends the browser back to the page to show
// what was done (POST, redirect, GET), a refused one keeps the status
// change gives it, and a failure is answered here. A GET shows what the
// last change did in done. It returns the status to show the page with,
// false when it answered itself.
func (p *Pages) applyChange(q *request, page string, done *string, change func() (string, int, error)) (int, bool) {
	if q.r.Method != http.MethodPost {
		*done = doneTexts[q.r.URL.Query().Get("done")]
		return http.StatusOK, true
	}
	made, status, err := change()
	switch {
	case err != nil:
		p.log.Error(q.r, "pages: changing "+page, zap.String("project", q.slug()), zap.Error(err))
		p.message(q.w, q.r, http.StatusServiceUnavailable, "Unavailable", "The change could not be saved. Try again.")
		return 0, false
	case made != "":
		http.Redirect(q.w, q.r, q.pageURL(page)+"?done="+made, http.StatusSeeOther)
		return 0, false
	}
	return status, true
}
