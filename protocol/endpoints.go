// Package protocol is PROTOCOL.md as code: the service's endpoints (§2)
// and the native relay's own routes in one table, the site's routes (§3),
// the error codes the stock client parses, and the one JSON reply writer
// and bounded body reader that every part answers and reads with. The
// forward relay, the native relay's router, the guard's edge start and the
// metric labels all read this table, so that an endpoint is added in one
// place.
package protocol

import (
	"net/http"
	"strings"
)

// DefaultService is the hosted Outstatic service, the stock site's
// OUTSTATIC_API_URL unless set.
const DefaultService = "https://outstatic.com/api"

// DefaultAppHosts are the addresses the stock site names itself by when it
// builds callbacks and redirects: the listen address of `next start`
// (PROTOCOL.md §6).
var DefaultAppHosts = []string{"localhost:3000"}

// Auth is what an endpoint requires of its caller.
type Auth int

const (
	// AuthNone: the protocol sends no credential (exchange, refresh, and
	// the relay's own browser routes).
	AuthNone Auth = iota
	// AuthKey: the site's API key as a Bearer token.
	AuthKey
	// AuthSession: a user's session token as a Bearer token.
	AuthSession
)

// Endpoint is one call of the service's protocol, relative to
// OUTSTATIC_API_URL, or one of the native relay's own routes.
type Endpoint struct {
	// Path is the exact path, or for a Prefix endpoint the path's start.
	Path   string
	Prefix bool
	// Method is the one method the endpoint answers (a Browser endpoint
	// answers OPTIONS too).
	Method string
	// Auth is the credential the caller sends.
	Auth Auth
	// CallbackField is the JSON field of the request body that carries
	// the callback URL the stock site sends (required), "" for none.
	CallbackField string
	// Label names the endpoint in metrics and logs: a bounded set.
	Label string
	// Browser: the browser calls it cross-origin, so it answers CORS.
	Browser bool
	// RelayOwn: a route of the native relay (GitHub's OAuth hop), not a
	// call of the service's protocol; a forward relay does not serve it.
	RelayOwn bool
}

// The endpoints, numbered as in PROTOCOL.md §2.
var (
	// #1, the key check.
	Project = &Endpoint{Path: "/outstatic/project", Method: http.MethodGet, Auth: AuthKey, Label: "project"}
	// #2.
	GitHubExchange = &Endpoint{Path: "/outstatic/auth/github-exchange", Method: http.MethodPost, Auth: AuthKey,
		CallbackField: "callback_url", Label: "github-exchange"}
	// #3 (camelCase fields).
	GoogleExchange = &Endpoint{Path: "/outstatic/auth/google-exchange", Method: http.MethodPost, Auth: AuthKey,
		CallbackField: "callbackUrl", Label: "google-exchange"}
	// #4; a refused key has its own text (CodeInvalidAPIKeyMagic).
	RequestMagicLink = &Endpoint{Path: "/outstatic/auth/request-magic-link", Method: http.MethodPost, Auth: AuthKey,
		CallbackField: "callbackUrl", Label: "request-magic-link"}
	// #5.
	ExchangeToken = &Endpoint{Path: "/outstatic/auth/exchange-token", Method: http.MethodPost, Auth: AuthNone,
		Label: "exchange-token"}
	// #6.
	ValidateGitHubUser = &Endpoint{Path: "/outstatic/auth/validate-github-user", Method: http.MethodPost, Auth: AuthKey,
		CallbackField: "callback_url", Label: "validate-github-user"}
	// #7.
	RefreshToken = &Endpoint{Path: "/outstatic/auth/refresh-token", Method: http.MethodPost, Auth: AuthNone,
		Label: "refresh-token"}
	// #8.
	Generate = &Endpoint{Path: "/outstatic/generate", Method: http.MethodPost, Auth: AuthKey, Label: "generate"}
	// #9.
	Scan = &Endpoint{Path: "/outstatic/scan", Method: http.MethodPost, Auth: AuthKey, Label: "scan"}
	// #10: /outstatic/media/<owner>/<repo>/<branch>/<path...>.
	Media = &Endpoint{Path: "/outstatic/media/", Prefix: true, Method: http.MethodGet, Auth: AuthSession, Label: "media"}
	// #11, called from the browser.
	Parser = &Endpoint{Path: "/github/parser", Method: http.MethodPost, Auth: AuthSession, Browser: true, Label: "parser"}

	// The native relay's GitHub OAuth hop: where github-exchange's URL
	// sends the browser, and where GitHub sends it back.
	GitHubStart    = &Endpoint{Path: "/outstatic/auth/github/start", Method: http.MethodGet, RelayOwn: true, Label: "github-start"}
	GitHubCallback = &Endpoint{Path: "/outstatic/auth/github/callback", Method: http.MethodGet, RelayOwn: true, Label: "github-callback"}
	// The development login's page (dev_login only): GET shows the
	// members, POST logs in as one; it returns through GitHubCallback.
	DevLogin = &Endpoint{Path: "/outstatic/auth/dev/login", Method: http.MethodGet, RelayOwn: true, Label: "dev-login"}

	// The native relay's OpenID Connect hop (Google or any issuer): where
	// google-exchange's URL sends the browser, and where the issuer sends
	// it back.
	OIDCStart    = &Endpoint{Path: "/outstatic/auth/oidc/start", Method: http.MethodGet, RelayOwn: true, Label: "oidc-start"}
	OIDCCallback = &Endpoint{Path: "/outstatic/auth/oidc/callback", Method: http.MethodGet, RelayOwn: true, Label: "oidc-callback"}
	// The native relay's e-mail link: the link in the message shows a
	// confirmation form (a GET that changes nothing, so mail scanners do
	// not spend it), which posts to EmailConfirm.
	EmailVerify  = &Endpoint{Path: "/outstatic/auth/email/verify", Method: http.MethodGet, RelayOwn: true, Label: "email-verify"}
	EmailConfirm = &Endpoint{Path: "/outstatic/auth/email/confirm", Method: http.MethodPost, RelayOwn: true, Label: "email-confirm"}
	// The native relay's own Members and API Keys pages, where the stock
	// dashboard's sidebar links go when NEXT_PUBLIC_OST_APP_URL is the
	// relay (PROTOCOL.md §8): /home/<account>/<project>/members and
	// /api-keys, their sign-in, and their style sheet and script. Their
	// forms POST to the same paths (package relay/pages checks methods).
	Pages = &Endpoint{Path: "/home/", Prefix: true, Method: http.MethodGet, RelayOwn: true, Label: "pages"}
)

// KeyRefusedCode is the error a call to e with a refused key gets: the
// stock client of request-magic-link parses a text of its own.
func (e *Endpoint) KeyRefusedCode() string {
	if e == RequestMagicLink {
		return CodeInvalidAPIKeyMagic
	}
	return CodeInvalidAPIKey
}

// Endpoints is every endpoint above.
var Endpoints = []*Endpoint{
	Project, GitHubExchange, GoogleExchange, RequestMagicLink, ExchangeToken, ValidateGitHubUser,
	RefreshToken, Generate, Scan, Media, Parser, GitHubStart, GitHubCallback,
	OIDCStart, OIDCCallback, EmailVerify, EmailConfirm,
	DevLogin, Pages,
}

var exact = func() map[string]*Endpoint {
	m := map[string]*Endpoint{}
	for _, e := range Endpoints {
		if !e.Prefix {
			m[e.Path] = e
		}
	}
	return m
}()

// Lookup returns the endpoint path names: an exact path, or a path under a
// Prefix endpoint; nil for none. A Prefix endpoint's own checks of the rest
// of the path are its handler's.
func Lookup(path string) *Endpoint {
	if e, ok := exact[path]; ok {
		return e
	}
	for _, e := range Endpoints {
		if e.Prefix && strings.HasPrefix(path, e.Path) {
			return e
		}
	}
	return nil
}

// Label is path's endpoint label for metrics, "other" for none.
func Label(path string) string {
	if e := Lookup(path); e != nil {
		return e.Label
	}
	return "other"
}
