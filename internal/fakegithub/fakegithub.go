// Package fakegithub is a local stand-in for GitHub, for tests that cannot
// reach github.com: the OAuth web flow (authorize with PKCE, code exchange),
// the REST endpoints a login needs (/user, /user/emails, /repos/{o}/{r} and
// its collaborator check) and a GraphQL API that answers the stock
// Outstatic dashboard from an in-memory repository. Status codes, error strings and reply shapes are GitHub's, so
// code under test cannot tell the fake from the real service for what it
// uses; its REST replies are checked against GitHub's published REST
// description (testdata/github-rest) in its tests.
//
// URL layout (GitHub Enterprise Server style, one origin for everything):
//
//	base_url  = URL()                      web: /login/oauth/authorize, /login/oauth/access_token
//	api_url   = URL()+"/api/v3"            REST: /user, /user/emails, /repos/{owner}/{repo}
//	graphql   = URL()+"/api/graphql"       GraphQL, as GitHub Enterprise Server
//	          = URL()+"/api/v3/graphql"    the same, for clients that derive it from api_url
//	                                       the github.com way (api.github.com/graphql)
//
// A client configured for GitHub Enterprise Server with base_url = URL()
// and api_url = APIURL() finds everything; one that derives the GraphQL
// endpoint as api_url+"/graphql" does too. The server listens on 127.0.0.1
// only.
//
// What is modelled, and why it matters to callers:
//   - Codes are single use, live 10 minutes, are bound to the client, the
//     redirect_uri and the PKCE challenge (S256 only, as GitHub).
//   - Token errors come back with status 200 (GitHub's habit), as JSON,
//     XML or form encoding after the Accept header.
//   - A token carries the scopes asked for at authorize. /user/emails needs
//     user:email (or user) and answers 404 without it; a private Repo is
//     NOT_FOUND to tokens without repo; mutations need repo (or
//     public_repo on a public Repo) and fail with INSUFFICIENT_SCOPES.
//   - GraphQL runs on GitHub's published schema (package ghschema, cut to
//     what the dashboard, the relay and this fake use): gqlparser's
//     validator and variable coercion decide what is valid, errors are
//     worded as GitHub words them, and a query gets exactly the fields it
//     asks for, with nulls where GitHub's schema allows them and errors
//     propagated as the spec says. An invalid document, or a variable that
//     does not coerce, fails the whole request before anything runs, as on
//     GitHub. Introspection answers from the same schema. A field of the
//     schema the fake does not implement is an error, never a made-up value.
//   - The repository may belong to an organization and may have annotated
//     tags (Repo).
//   - Recorded GraphQL variables keep JSON numbers as json.Number.
//   - With TokenTTL set, tokens expire as a GitHub App's user tokens do:
//     the token reply has expires_in, a refresh_token and
//     refresh_token_expires_in (JSON numbers; 183 days), and "scope": "";
//     the refresh_token grant renews a token, and spends the refresh
//     token and the old access token, as GitHub does; an expired token is
//     401 Bad credentials.
package fakegithub

import (
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// User is the account that signs in at authorize.
type User struct {
	Login, Name string
	// Email is the public e-mail address; "" makes /user answer null, as
	// GitHub does for users who keep it private.
	Email     string
	ID        int64
	AvatarURL string
	// Emails is what /user/emails returns.
	Emails []Email
}

// Email is one entry of /user/emails.
type Email struct {
	Email      string  `json:"email"`
	Primary    bool    `json:"primary"`
	Verified   bool    `json:"verified"`
	Visibility *string `json:"visibility"`
}

// Recorded is one request the fake received.
type Recorded struct {
	Method, Path, RawQuery string
	// Header holds every request header; Authorization is copied out for
	// convenience.
	Header        http.Header
	Authorization string
	// Form is the parsed form of a form-encoded body (the token endpoint),
	// secrets included; Query the parsed query string.
	Form, Query url.Values
	// Body is the raw body (JSON bodies included).
	Body []byte
	// GraphQL is set for requests to the GraphQL endpoint.
	GraphQL *GraphQLCall
}

// GraphQLCall is a GraphQL request as the fake understood it.
type GraphQLCall struct {
	// OperationName is the one sent, or else the name of the (single)
	// operation in the document.
	OperationName string
	Query         string
	Variables     map[string]any
}

// Token is an access token the fake issued.
type Token struct {
	Value    string
	ClientID string // "" for tokens made with IssueToken
	Login    string
	Scopes   []string
	Created  time.Time
	// Expires is when the token stops working; zero: never (TokenTTL 0).
	Expires time.Time
	// Refresh is the refresh token issued with it, if it expires.
	Refresh string

	user User // who it was issued to, as they were then
	seq  int  // issue order, as clocks may stand still in tests
}

// Server is the fake. Set the exported fields before Start; afterwards use
// the methods (they lock).
type Server struct {
	ClientID, ClientSecret string
	// CallbackURL is the OAuth app's registered callback URL. Empty: any
	// absolute http(s) redirect_uri is accepted and one is required. Set:
	// GitHub's rules apply (same host, same port unless loopback, path at
	// or below the callback's), a missing redirect_uri means this one, and
	// a mismatch redirects here with error=redirect_uri_mismatch.
	CallbackURL string
	// User signs in at authorize, which approves at once.
	User User
	// Deny makes authorize redirect back with error=access_denied.
	Deny bool
	// Repo is the repository the GraphQL API serves; default StockRepo.
	Repo Repo
	// Now is the clock for code and token expiry and commit dates;
	// default time.Now.
	Now func() time.Time
	// TokenTTL makes the tokens issued from now on expire after it, with
	// a refresh token (GitHub Apps: 8 hours). Zero: tokens never expire,
	// as an OAuth app's.
	TokenTTL time.Duration
	// TreeLimit, if positive, truncates recursive tree listings to that
	// many entries, as GitHub does past 100,000 (trees.go).
	TreeLimit int
	// ForgetRequests keeps no record of the requests (Requests and
	// Queries return none): for a fake serving a benchmark for minutes,
	// whose record would grow without bound and cost it more than its
	// answers.
	ForgetRequests bool

	mu     sync.Mutex
	srv    *httptest.Server
	codes  map[string]*grant
	tokens map[string]*Token
	renew  map[string]*renewal // refresh token → what it renews
	issued int
	reqs   []Recorded
	git    *gitRepo
}

// New returns a fake for the OAuth app clientID/clientSecret, where user
// signs in, serving StockRepo("acme", "blog").
func New(clientID, clientSecret string, user User) *Server {
	return &Server{ClientID: clientID, ClientSecret: clientSecret, User: user,
		Repo: StockRepo("acme", "blog"), codes: map[string]*grant{}, tokens: map[string]*Token{},
		renew: map[string]*renewal{}}
}

// Start listens on 127.0.0.1 and returns the base URL (see the package
// documentation for the layout). It may be called once.
func (s *Server) Start() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("fakegithub: " + err.Error())
	}
	s.mu.Lock()
	s.git = newGitRepo(s.Repo, s.now())
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.mu.Unlock()
	s.srv.Start()
	return s.srv.URL
}

// Close shuts the server down.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// URL is the base URL (web endpoints).
func (s *Server) URL() string { return s.srv.URL }

// APIURL is the REST API's root, GitHub Enterprise Server style.
func (s *Server) APIURL() string { return s.srv.URL + "/api/v3" }

// GraphQLURL is the GraphQL endpoint, GitHub Enterprise Server style.
func (s *Server) GraphQLURL() string { return s.srv.URL + "/api/graphql" }

// AuthURL and TokenURL are the OAuth endpoints.
func (s *Server) AuthURL() string  { return s.srv.URL + "/login/oauth/authorize" }
func (s *Server) TokenURL() string { return s.srv.URL + "/login/oauth/access_token" }

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.reqs...)
}

// Queries returns the GraphQL requests received so far, in order.
func (s *Server) Queries() []GraphQLCall {
	var out []GraphQLCall
	for _, r := range s.Requests() {
		if r.GraphQL != nil {
			out = append(out, *r.GraphQL)
		}
	}
	return out
}

// SetUser changes who signs in next; tokens already issued keep their user.
func (s *Server) SetUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.User = u
}

// SetDeny switches Deny while the server runs.
func (s *Server) SetDeny(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Deny = deny
}

// Tokens returns the access tokens issued so far, oldest first.
func (s *Server) Tokens() []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Token
	for _, t := range s.tokens {
		out = append(out, *t)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// IssueToken mints a token for the current user with scopes, skipping the
// web flow.
func (s *Server) IssueToken(scopes ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issue("", s.User, scopes)
}

// SetTokenTTL switches TokenTTL while the server runs.
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.TokenTTL = d
}

// RevokeToken makes token, and the refresh token issued with it, unknown,
// as when the user revokes the app.
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[token]; t != nil && t.Refresh != "" {
		delete(s.renew, t.Refresh)
	}
	delete(s.tokens, token)
}

// refreshLifetime is how long a refresh token lives: "six months", and
// refresh_token_expires_in 15811200 (183 days) in GitHub's documented
// reply.
const refreshLifetime = 183 * 24 * time.Hour

// renewal is what a refresh token renews.
type renewal struct {
	clientID, access string
	user             User
	scopes           []string
	expires          time.Time
}

// issue stores a new token; s.mu is held. With TokenTTL set it is a
// GitHub App user token (ghu_), with a refresh token (ghr_).
func (s *Server) issue(clientID string, u User, scopes []string) string {
	t := &Token{Value: "gho_" + randomString(36), ClientID: clientID, Login: u.Login, Scopes: scopes, Created: s.now(), user: u}
	if s.TokenTTL > 0 {
		t.Value = "ghu_" + randomString(36)
		t.Expires = t.Created.Add(s.TokenTTL)
		t.Refresh = "ghr_" + randomString(76)
		s.renew[t.Refresh] = &renewal{clientID: clientID, access: t.Value, user: u, scopes: scopes, expires: t.Created.Add(refreshLifetime)}
	}
	s.issued++
	t.seq = s.issued
	s.tokens[t.Value] = t
	return t.Value
}

// tokenFields is the token endpoint's success reply for access token v.
// A GitHub App's user token (one that expires) carries no OAuth scopes:
// its scope is "", whatever was asked; the App's permissions rule (the
// fake keeps the asked scopes to model them).
func (s *Server) tokenFields(v string) []tokenField {
	t := s.tokens[v]
	fields := []tokenField{{"access_token", v}}
	scope := strings.Join(t.Scopes, ",")
	if t.Refresh != "" {
		fields = append(fields, tokenField{"expires_in", int(t.Expires.Sub(t.Created).Seconds())},
			tokenField{"refresh_token", t.Refresh},
			tokenField{"refresh_token_expires_in", int(s.renew[t.Refresh].expires.Sub(t.Created).Seconds())})
		scope = ""
	}
	return append(fields, tokenField{"token_type", "bearer"}, tokenField{"scope", scope})
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// serve records the request and routes it.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body := readBody(r)
	// The token endpoint reads the query and the form from the record.
	rec := Recorded{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Authorization: r.Header.Get("Authorization"), Query: r.URL.Query(), Body: body}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		rec.Form, _ = url.ParseQuery(string(body))
	}
	p := r.URL.Path
	graphql := p == "/api/graphql" || p == "/api/v3/graphql"
	if !s.ForgetRequests {
		rec.Header = r.Header.Clone()
		if graphql && r.Method == http.MethodPost {
			rec.GraphQL = describeCall(body)
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		s.mu.Unlock()
	}

	switch {
	case p == "/login/oauth/authorize":
		oauthAPI{s}.authorize(w, r)
	case p == "/login/oauth/access_token":
		oauthAPI{s}.accessToken(w, r, rec)
	case graphql:
		s.graphql(w, r, body)
	case strings.HasPrefix(p, "/api/v3/") && appAPI{s}.appRoute(w, r, strings.TrimPrefix(p, "/api/v3")):
		// GitHub App endpoints (app.go): appRoute answered.
	case isTreesRoute(strings.TrimPrefix(p, "/api/v3")) && strings.HasPrefix(p, "/api/v3/"):
		s.trees(w, r, strings.TrimPrefix(p, "/api/v3"))
	case isContentsRoute(strings.TrimPrefix(p, "/api/v3")) && strings.HasPrefix(p, "/api/v3/"):
		s.contents(w, r, strings.TrimPrefix(p, "/api/v3"))
	case strings.HasPrefix(p, "/api/v3/"):
		s.rest(w, r, strings.TrimPrefix(p, "/api/v3"))
	default:
		notFoundPage(w)
	}
}

// writeJSON answers v as GitHub's API does (JSON, UTF-8).
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// randomString returns n characters from [a-zA-Z0-9], the alphabet of
// GitHub's token bodies.
func randomString(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// randomHex returns n lowercase hex digits (GitHub's codes are 20 of them).
func randomHex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = digits[b[i]&15]
	}
	return string(b)
}
