package login

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/relay/seal"
)

// devLogin is the development login provider (dev_login): a page of the
// relay that asks which configured member you are and logs you in as them,
// with no password and no outside service. It exists so that the demo and
// local development run without a GitHub OAuth app; the Caddy glue refuses
// to start it unless every listener is on a loopback address.
//
// It has the shape of every provider: LoginURL sends the browser to its
// page with the sealed state; the page's form POSTs back; the relay sends
// the browser to the usual callback with a "code" that is the chosen
// member sealed together with the login's PKCE challenge, which Redeem
// opens and checks against the verifier, as an OAuth server would.
type devLogin struct {
	l        *Logins
	loginURL string // the page, absolute
	callback string // where the page returns, absolute
}

// devCode is what the development login's code stands for.
type devCode struct {
	Who       string `json:"w"`
	Challenge string `json:"c"` // S256 of the login's verifier
}

// devCodeTTL bounds the hop from the form to the callback.
const devCodeTTL = time.Minute

// devCSRFCookie holds the form's double-submit token: a cross-site POST
// carries no SameSite=Strict cookie, so it cannot match the form field.
const devCSRFCookie = "ost_dev_csrf"

//go:embed devlogin/page.html devlogin/page.css
var devFiles embed.FS

var devPage = template.Must(template.New("page.html").ParseFS(devFiles, "devlogin/page.html"))

var devCSS = func() template.CSS {
	b, _ := devFiles.ReadFile("devlogin/page.css")
	return template.CSS(b) // our own file, embedded: trusted
}()

func newDevLogin(s Setup) (Provider, error) {
	if !s.Config.DevLogin {
		return nil, nil
	}
	s.l.log.Log.Warn("dev_login is on: anyone who reaches the relay can log in as any member without a password; never use it on a reachable address")
	return &devLogin{l: s.l, loginURL: s.l.base + protocol.DevLogin.Path, callback: s.Callback}, nil
}

// Name is "dev".
func (d *devLogin) Name() string { return "dev" }

// LoginURL is the relay's member page for this login. The verifier is not
// sent: its challenge is recomputed from the state's nonce when the form
// is posted, as the relay recomputes the verifier itself.
func (d *devLogin) LoginURL(_ context.Context, state, _ string) (string, error) {
	return d.loginURL + "?state=" + url.QueryEscape(state), nil
}

// Redeem opens the code the page minted and checks it was minted for
// this login's verifier.
func (d *devLogin) Redeem(_ context.Context, code, verifier string) (Member, error) {
	var c devCode
	if err := d.l.cfg.Seal.Open(seal.DevCode, code, &c); err != nil {
		return Member{}, errors.New("dev login: the code does not open or expired")
	}
	if subtle.ConstantTimeCompare([]byte(c.Challenge), []byte(s256(verifier))) != 1 {
		return Member{}, errors.New("dev login: the code was minted for another login")
	}
	return devMember(c.Who), nil
}

// devMember is a configured member as a logged-in user: an e-mail member
// is known by the address only (no login, which could name another
// member), a login member gets an address the stock site accepts and
// nobody receives mail at (.invalid, RFC 2606).
func devMember(who string) Member {
	if strings.Contains(who, "@") {
		return Member{Name: who, Email: who, Emails: []string{who}}
	}
	return Member{Login: who, Name: who, Email: who + "@dev-login.invalid"}
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// devView is what the page shows.
type devView struct {
	CSS     template.CSS
	Project string
	State   string
	CSRF    string
	Members []devChoice
	Error   string
}

type devChoice struct{ Who, Role string }

// Routes is the development login's page, which GETs show and POSTs
// answer.
func (d *devLogin) Routes() []Route {
	return []Route{{Endpoint: protocol.DevLogin, Methods: []string{http.MethodGet, http.MethodPost}, Open: d.serve}}
}

// serve shows the members of the login's project (GET) or logs the
// browser in as the chosen one (POST).
func (d *devLogin) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	// no form-action: after the POST the browser is redirected on to the
	// site, which Chromium would check against it
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	if r.Method == http.MethodPost {
		d.choose(w, r)
		return
	}
	d.showPage(w, r)
}

// openLogin opens the login state the page carries (without spending it:
// the callback does) and finds its project.
func (d *devLogin) openLogin(w http.ResponseWriter, r *http.Request, state string) (*roster.Project, loginState, bool) {
	var st loginState
	var p *roster.Project
	err := d.l.cfg.Seal.Open(seal.State, state, &st)
	if err == nil {
		p, err = d.l.cfg.Roster.Project(r.Context(), st.Project)
	}
	if err != nil || p == nil {
		http.Error(w, "This login link is not valid or expired. Start again from the sign-in page.", http.StatusBadRequest)
		return nil, st, false
	}
	return p, st, true
}

func (d *devLogin) showPage(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	p, _, ok := d.openLogin(w, r, state)
	if !ok {
		return
	}
	raw := make([]byte, 24)
	_, _ = rand.Read(raw)
	csrf := base64.RawURLEncoding.EncodeToString(raw)
	http.SetCookie(w, &http.Cookie{Name: devCSRFCookie, Value: csrf, Path: d.l.cfg.PublicURL.Path + protocol.DevLogin.Path,
		MaxAge: int(stateTTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: d.l.cfg.PublicURL.Scheme == "https"})
	d.render(w, r, http.StatusOK, devView{Project: p.Slug, State: state, CSRF: csrf, Members: d.choices(r, p)})
}

// choices are p's members, configured and stored, to pick from.
func (d *devLogin) choices(r *http.Request, p *roster.Project) []devChoice {
	var out []devChoice
	members, err := d.l.cfg.Roster.Members(r.Context(), p.Slug)
	if err != nil {
		d.l.log.Error(r, "dev login: reading the members", zap.String("project", p.Slug), zap.Error(err))
	}
	for _, m := range members {
		out = append(out, devChoice{Who: m.Who, Role: m.Role})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Who < out[j].Who })
	return out
}

func (d *devLogin) render(w http.ResponseWriter, r *http.Request, status int, v devView) {
	v.CSS = devCSS
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := devPage.Execute(w, v); err != nil {
		d.l.log.Error(r, "rendering the dev login page", zap.Error(err))
	}
}

// choose checks the form and sends the browser to the relay's callback
// with a code for the chosen member, who must be one of the project's.
func (d *devLogin) choose(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read.", http.StatusBadRequest)
		return
	}
	state := r.PostForm.Get("state")
	p, st, ok := d.openLogin(w, r, state)
	if !ok {
		return
	}
	c, err := r.Cookie(devCSRFCookie)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		d.l.log.Info(r, "dev login refused: CSRF token missing or wrong", zap.String("project", p.Slug))
		http.Error(w, "This form is stale or was sent from another site. Start again from the sign-in page.", http.StatusForbidden)
		return
	}
	who := roster.MemberKey(r.PostForm.Get("member"))
	if role, err := d.l.cfg.Roster.RoleSince(r.Context(), p, who, []string{who}, time.Time{}); who == "" || err != nil || role == "" {
		d.render(w, r, http.StatusBadRequest, devView{Project: p.Slug, State: state, CSRF: c.Value, Members: d.choices(r, p),
			Error: "Pick one of the project's members."})
		return
	}
	code, _, err := d.l.cfg.Seal.Seal(seal.DevCode, devCode{Who: who, Challenge: s256(d.l.verifier(st.Nonce))}, devCodeTTL)
	if err != nil {
		d.l.finish(w, r, d.Name(), p, st.Callback, SlotGitHub.Failed)
		return
	}
	d.l.log.Warn(r, "dev login: logging in without a password", zap.String("project", p.Slug), zap.String("login", who))
	http.Redirect(w, r, d.callback+"?code="+url.QueryEscape(code)+"&state="+url.QueryEscape(state), http.StatusSeeOther)
}

// Interface guards
var (
	_ Redirector = (*devLogin)(nil)
	_ Router     = (*devLogin)(nil)
)
