// Package github is the one client through which the relay calls GitHub:
// the OAuth web flow and the renewal of a user's token (oauth.go), the
// user and their e-mail addresses (user.go), GraphQL (graphql.go), a
// repository's contents and tree (contents.go), and a GitHub App's
// installation tokens (app.go). Every failed call is an *Error, read with
// Refused and Unreachable; every request names the relay, and GitHub's
// REST API version. It does not import Caddy.
package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Where github.com serves the web flow and its API; an OAuthApp's
// defaults.
const (
	DefaultBaseURL = "https://github.com"
	DefaultAPIURL  = "https://api.github.com"
)

// apiVersion is the REST API version every REST call asks for.
const apiVersion = "2022-11-28"

// userAgent names the relay in every request.
const userAgent = "caddy-outstatic"

// OAuthApp is the relay's own GitHub OAuth app (or a GitHub App's user
// flow), and where its GitHub is (github.com, or GitHub Enterprise
// Server).
type OAuthApp struct {
	ClientID, ClientSecret string
	// BaseURL serves /login/oauth/...; default DefaultBaseURL.
	BaseURL string
	// APIURL serves the REST API; default DefaultAPIURL.
	APIURL string
	// GraphQLURL; default APIURL+"/graphql" (GitHub Enterprise Server:
	// <host>/api/graphql).
	GraphQLURL string
}

// Check is the one check of the app's credentials: both or neither.
// Without them the relay has no OAuth app, and so no GitHub login; its
// calls to GitHub's API need none.
func (a OAuthApp) Check() error {
	if (a.ClientID == "") != (a.ClientSecret == "") {
		return errors.New("a github block needs both client_id and client_secret, or neither (no GitHub login: the URLs alone, for a github_app on GitHub Enterprise Server)")
	}
	return nil
}

// Configured reports whether a has its credentials: whether the relay
// offers GitHub's login.
func (a OAuthApp) Configured() bool { return a.ClientID != "" }

// WithDefaults is a with its URLs' defaults filled in, without trailing
// slashes.
func (a OAuthApp) WithDefaults() OAuthApp {
	if a.BaseURL == "" {
		a.BaseURL = DefaultBaseURL
	}
	if a.APIURL == "" {
		a.APIURL = DefaultAPIURL
	}
	a.BaseURL, a.APIURL = strings.TrimSuffix(a.BaseURL, "/"), strings.TrimSuffix(a.APIURL, "/")
	if a.GraphQLURL == "" {
		a.GraphQLURL = a.APIURL + "/graphql"
	}
	return a
}

// Client calls GitHub for the relay. It is safe for concurrent use.
type Client struct {
	app   OAuthApp
	oauth oauth2.Config
	http  *http.Client
	now   func() time.Time
}

// New makes the client of app, whose OAuth callback is callback. httpClient
// makes every call (its timeout bounds each; Media sets its own bounds);
// now is the clock a token's expiry is read by.
func New(app OAuthApp, callback string, httpClient *http.Client, now func() time.Time) *Client {
	app = app.WithDefaults()
	return &Client{
		app: app,
		oauth: oauth2.Config{
			ClientID:     app.ClientID,
			ClientSecret: app.ClientSecret,
			Endpoint: oauth2.Endpoint{
				AuthURL:   app.BaseURL + "/login/oauth/authorize",
				TokenURL:  app.BaseURL + "/login/oauth/access_token",
				AuthStyle: oauth2.AuthStyleInParams,
			},
			RedirectURL: callback,
			// repo: the dashboard reads and writes the content repository
			// through the parser with this token, as the stock GitHub
			// login requests.
			Scopes: []string{"read:user", "user:email", "repo"},
		},
		http: httpClient,
		now:  now,
	}
}

// ErrNotFound matches an *Error whose answer was 404 (errors.Is).
var ErrNotFound = errors.New("not found")

// Error is a call to GitHub that did not give what was asked.
type Error struct {
	// Op is the call: "GET /user", "oauth token", ...
	Op string
	// Status is GitHub's HTTP status, 0 when GitHub did not answer (the
	// network, a timeout, a cancelled request).
	Status int
	// Code is GitHub's error code (OAuth) or message, if it gave one.
	Code string
	// Err is the cause, if any: what failed to send or to decode.
	Err error
}

func (e *Error) Error() string {
	switch {
	case e.Status == 0:
		return fmt.Sprintf("github %s: %v", e.Op, e.Err)
	case e.Err != nil:
		return fmt.Sprintf("github %s: status %d: %v", e.Op, e.Status, e.Err)
	case e.Code != "":
		return fmt.Sprintf("github %s: %s (status %d)", e.Op, e.Code, e.Status)
	}
	return fmt.Sprintf("github %s: status %d", e.Op, e.Status)
}

// Unwrap is the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes a 404 answer match ErrNotFound.
func (e *Error) Is(target error) bool {
	return target == ErrNotFound && e.Status == http.StatusNotFound
}

// Refused reports whether GitHub answered err's call and refused it: any
// answer but a server error (GitHub's token endpoint refuses with a 200).
// A refusal is the credential's or the request's doing, not an outage.
func Refused(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status > 0 && e.Status < 500
}

// Unreachable reports whether GitHub gave err's call no answer.
func Unreachable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == 0
}

// oauthError maps an error of the oauth2 package: GitHub's error code and
// status, and nothing a server echoed.
func oauthError(op string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		e := &Error{Op: op, Code: re.ErrorCode}
		if re.Response != nil {
			e.Status = re.Response.StatusCode
		}
		return e
	}
	return &Error{Op: op, Err: err}
}

// request makes a call to GitHub with the relay's headers; token, if not
// "", is its bearer credential.
func request(ctx context.Context, method, url, token, accept string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", userAgent)
	return req, nil
}

// rest makes a REST call at path below the API with token; op names it
// in errors.
func (c *Client) rest(ctx context.Context, client *http.Client, method, path, token, accept string) (*http.Response, error) {
	op := method + " " + path
	if i := strings.IndexByte(op, '?'); i >= 0 {
		op = op[:i]
	}
	req, err := request(ctx, method, c.app.APIURL+path, token, accept, nil)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	req.Header.Set("X-GitHub-Api-Version", apiVersion)
	res, err := client.Do(req)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	return res, nil
}

// getJSON reads a REST resource with token into v, at most max bytes of
// it; any answer but 200 is an *Error.
func (c *Client) getJSON(ctx context.Context, path, token string, max int64, v any) error {
	res, err := c.rest(ctx, c.http, http.MethodGet, path, token, "application/vnd.github+json")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return &Error{Op: "GET " + path, Status: res.StatusCode}
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, max)).Decode(v); err != nil {
		return &Error{Op: "GET " + path, Status: res.StatusCode, Err: err}
	}
	return nil
}
