package hydratest

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
)

// User is who signs in at Hydra, and the claims of their ID token.
type User struct {
	// Subject is the sub claim.
	Subject string
	Email   string
	// EmailVerified is the email_verified claim.
	EmailVerified bool
	Name          string
}

// Login is how the app answers one login: who signs in, and whether they
// then refuse the consent screen.
type Login struct {
	User User
	// RefuseConsent refuses the consent step with access_denied, as a
	// user who clicks "Deny" does.
	RefuseConsent bool
}

// LoginApp is Hydra's login and consent app (urls.login, urls.consent).
// It shows no page: each login takes the next queued Login, accepts it
// through the admin API and sends the browser on where Hydra says. A
// login with nothing queued is refused, so a test sees an unplanned
// login as an error at its client.
type LoginApp struct {
	// URL is where the app listens (127.0.0.1).
	URL   string
	admin string

	mu      sync.Mutex
	queue   []Login
	pending map[string]Login // subject → its login, between login and consent
	seen    []string         // login challenges answered, in order
}

func newLoginApp(t testing.TB) *LoginApp {
	a := &LoginApp{pending: map[string]Login{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", a.serveLogin)
	mux.HandleFunc("GET /consent", a.serveConsent)
	a.URL = startApp(t, mux).URL
	return a
}

// Queue queues the next login.
func (a *LoginApp) Queue(l Login) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.queue = append(a.queue, l)
}

// Answered is how many logins the app has answered.
func (a *LoginApp) Answered() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.seen)
}

// hydra's login and consent requests, as far as the app reads them.
type flowRequest struct {
	Subject                      string   `json:"subject"`
	RequestedScope               []string `json:"requested_scope"`
	RequestedAccessTokenAudience []string `json:"requested_access_token_audience"`
}

type redirect struct {
	To string `json:"redirect_to"`
}

func (a *LoginApp) serveLogin(w http.ResponseWriter, r *http.Request) {
	challenge := r.URL.Query().Get("login_challenge")
	q := url.Values{"login_challenge": {challenge}}.Encode()
	var req flowRequest
	if _, err := callJSON(http.MethodGet, a.admin+"/admin/oauth2/auth/requests/login?"+q, nil, &req); err != nil {
		http.Error(w, "reading the login request: "+err.Error(), http.StatusBadGateway)
		return
	}
	a.mu.Lock()
	a.seen = append(a.seen, challenge)
	var next Login
	ok := len(a.queue) > 0
	if ok {
		next, a.queue = a.queue[0], a.queue[1:]
		a.pending[next.User.Subject] = next
	}
	a.mu.Unlock()
	var out redirect
	var err error
	if ok {
		_, err = callJSON(http.MethodPut, a.admin+"/admin/oauth2/auth/requests/login/accept?"+q,
			map[string]any{"subject": next.User.Subject, "remember": false}, &out)
	} else {
		_, err = callJSON(http.MethodPut, a.admin+"/admin/oauth2/auth/requests/login/reject?"+q,
			map[string]any{"error": "login_required", "error_description": "no login was queued by the test"}, &out)
	}
	a.follow(w, r, out, err)
}

func (a *LoginApp) serveConsent(w http.ResponseWriter, r *http.Request) {
	q := url.Values{"consent_challenge": {r.URL.Query().Get("consent_challenge")}}.Encode()
	var req flowRequest
	if _, err := callJSON(http.MethodGet, a.admin+"/admin/oauth2/auth/requests/consent?"+q, nil, &req); err != nil {
		http.Error(w, "reading the consent request: "+err.Error(), http.StatusBadGateway)
		return
	}
	a.mu.Lock()
	l, ok := a.pending[req.Subject]
	delete(a.pending, req.Subject)
	a.mu.Unlock()
	var out redirect
	var err error
	if !ok || l.RefuseConsent {
		_, err = callJSON(http.MethodPut, a.admin+"/admin/oauth2/auth/requests/consent/reject?"+q,
			map[string]any{"error": "access_denied", "error_description": "The resource owner denied the request"}, &out)
	} else {
		claims := map[string]any{"email": l.User.Email, "email_verified": l.User.EmailVerified}
		if l.User.Name != "" {
			claims["name"] = l.User.Name
		}
		_, err = callJSON(http.MethodPut, a.admin+"/admin/oauth2/auth/requests/consent/accept?"+q, map[string]any{
			"grant_scope":                 req.RequestedScope,
			"grant_access_token_audience": req.RequestedAccessTokenAudience,
			"remember":                    false,
			"session":                     map[string]any{"id_token": claims},
		}, &out)
	}
	a.follow(w, r, out, err)
}

// follow sends the browser where Hydra's admin API said.
func (a *LoginApp) follow(w http.ResponseWriter, r *http.Request, out redirect, err error) {
	if err != nil || out.To == "" {
		msg := "no redirect_to"
		if err != nil {
			msg = err.Error()
		}
		http.Error(w, "hydra admin API: "+msg, http.StatusBadGateway)
		return
	}
	http.Redirect(w, r, out.To, http.StatusFound)
}
