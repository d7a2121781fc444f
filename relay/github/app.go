package github

// Repository access as a GitHub App installation, for sessions that have
// no GitHub token of their own.
//
// A person who logs in with Google or an e-mail link has no GitHub
// identity, yet the dashboard's GraphQL calls must reach the repository.
// The service side answers them with an installation token of the site
// owner's GitHub App: a JWT signed with the App's private key (RS256)
// proves the App, GET /repos/{owner}/{repo}/installation finds the
// installation when its id is not configured, and
// POST /app/installations/{id}/access_tokens mints a token that lasts an
// hour. TokenSource caches that token until shortly before it expires and
// lets only one request renew it at a time.
//
// This is written on golang-jwt/jwt/v5 and x/sync/singleflight rather than
// bradleyfalzon/ghinstallation: that module pulls in go-github, and its
// refresh follows the wall clock, where tests here drive a fake one.

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/sync/singleflight"
)

// RenewBefore is how long before its expiry a cached token is replaced, so
// a request that starts with it does not meet its end on the way.
const RenewBefore = 5 * time.Minute

// App is a GitHub App the relay acts as.
type App struct {
	// AppID is the App's numeric id.
	AppID int64
	// PrivateKey is the App's private key, PEM.
	PrivateKey []byte
	// InstallationID is the installation to act as; 0: found from each
	// project's repository.
	InstallationID int64
}

// Installation is the token source of app's installation on owner/repo,
// through c's API and HTTP client, on c's clock.
func (c *Client) Installation(app App, owner, repo string) (*TokenSource, error) {
	return NewTokenSource(AppConfig{AppID: app.AppID, PrivateKey: app.PrivateKey, InstallationID: app.InstallationID,
		Owner: owner, Repo: repo, APIURL: c.app.APIURL, HTTPClient: c.http, Now: c.now})
}

// AppConfig identifies the App and where it is installed.
type AppConfig struct {
	// AppID is the GitHub App's numeric id.
	AppID int64
	// PrivateKey is the App's private key, PEM (PKCS#1 as GitHub hands it
	// out, or PKCS#8).
	PrivateKey []byte
	// InstallationID is the installation to act as. Zero: it is looked up
	// from Owner/Repo on first use.
	InstallationID int64
	// Owner and Repo name the repository whose installation is looked up
	// when InstallationID is zero.
	Owner, Repo string
	// APIURL is the REST API root; DefaultAPIURL if empty. For GitHub
	// Enterprise Server: "https://HOST/api/v3".
	APIURL string
	// HTTPClient makes the App's own calls; a client with a 30s timeout if
	// nil.
	HTTPClient *http.Client
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

// TokenSource hands out the installation's token. It is safe for
// concurrent use.
type TokenSource struct {
	appID  int64
	key    *rsa.PrivateKey
	owner  string
	repo   string
	apiURL string
	client *http.Client
	now    func() time.Time
	group  singleflight.Group

	mu             sync.Mutex
	installationID int64
	token          string
	expires        time.Time
}

// NewTokenSource checks cfg and returns a TokenSource. It makes no request.
func NewTokenSource(cfg AppConfig) (*TokenSource, error) {
	if cfg.AppID <= 0 {
		return nil, errors.New("github app: app id must be positive")
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("github app: private key: %v", err)
	}
	if cfg.InstallationID < 0 {
		return nil, errors.New("github app: installation id must not be negative")
	}
	if cfg.InstallationID == 0 && (!validName(cfg.Owner) || !validName(cfg.Repo)) {
		return nil, errors.New("github app: without an installation id, owner and repo must name the repository")
	}
	api := strings.TrimSuffix(cfg.APIURL, "/")
	if api == "" {
		api = DefaultAPIURL
	}
	if u, err := url.Parse(api); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("github app: api url %q: want an absolute http(s) URL", cfg.APIURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &TokenSource{appID: cfg.AppID, key: key, owner: cfg.Owner, repo: cfg.Repo, apiURL: api,
		client: cfg.HTTPClient, now: cfg.Now, installationID: cfg.InstallationID}, nil
}

// validName accepts a GitHub owner or repository name, which is also safe
// to put in a URL path as is.
func validName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// Token returns a valid installation token and when it expires, minting
// one if the cached token is missing or within RenewBefore of its end.
// Concurrent callers share one renewal.
func (ts *TokenSource) Token(ctx context.Context) (string, time.Time, error) {
	ts.mu.Lock()
	tok, exp := ts.token, ts.expires
	ts.mu.Unlock()
	if tok != "" && ts.now().Add(RenewBefore).Before(exp) {
		return tok, exp, nil
	}
	if err := ctx.Err(); err != nil {
		return "", time.Time{}, err
	}
	// The renewal runs on its own context so one caller giving up does not
	// fail the others waiting on it; the HTTP client's timeout bounds it.
	ch := ts.group.DoChan("token", func() (any, error) {
		return ts.renew(context.WithoutCancel(ctx))
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", time.Time{}, res.Err
		}
		m := res.Val.(minted)
		return m.token, m.expires, nil
	case <-ctx.Done():
		return "", time.Time{}, ctx.Err()
	}
}

// minted is a renewal's result, handed to every caller that waited on it
// (the cache may be invalidated again before they read it).
type minted struct {
	token   string
	expires time.Time
}

// Invalidate drops the cached token, so the next Token mints a new one;
// for a token GitHub refused (revoked, or the App's access changed).
func (ts *TokenSource) Invalidate() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.token, ts.expires = "", time.Time{}
}

// InstallationID returns the installation acted as, looking it up from the
// repository if it was not configured.
func (ts *TokenSource) InstallationID(ctx context.Context) (int64, error) {
	ts.mu.Lock()
	id := ts.installationID
	ts.mu.Unlock()
	if id != 0 {
		return id, nil
	}
	var out struct {
		ID int64 `json:"id"`
	}
	if err := ts.appCall(ctx, http.MethodGet, "/repos/"+ts.owner+"/"+ts.repo+"/installation", nil, http.StatusOK, &out); err != nil {
		return 0, fmt.Errorf("finding the app's installation on %s/%s: %w", ts.owner, ts.repo, err)
	}
	if out.ID <= 0 {
		return 0, fmt.Errorf("finding the app's installation on %s/%s: reply has no id", ts.owner, ts.repo)
	}
	ts.mu.Lock()
	ts.installationID = out.ID
	ts.mu.Unlock()
	return out.ID, nil
}

func (ts *TokenSource) renew(ctx context.Context) (minted, error) {
	id, err := ts.InstallationID(ctx)
	if err != nil {
		return minted{}, err
	}
	var out struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	// The token reaches the project's repository alone, however many
	// repositories the installation covers (a whole account, or one
	// installation_id given for every project): what the parser and media
	// let through is then bounded by GitHub too.
	var scope []byte
	if ts.repo != "" {
		scope, _ = json.Marshal(map[string][]string{"repositories": {ts.repo}})
	}
	if err := ts.appCall(ctx, http.MethodPost, "/app/installations/"+strconv.FormatInt(id, 10)+"/access_tokens", scope, http.StatusCreated, &out); err != nil {
		return minted{}, fmt.Errorf("minting an installation token: %w", err)
	}
	if out.Token == "" || out.ExpiresAt.IsZero() {
		return minted{}, errors.New("minting an installation token: reply has no token or expiry")
	}
	ts.mu.Lock()
	ts.token, ts.expires = out.Token, out.ExpiresAt
	ts.mu.Unlock()
	return minted{token: out.Token, expires: out.ExpiresAt}, nil
}

// appJWT signs the App's JWT. iat is set a minute back for clock drift, as
// GitHub advises; exp stays inside GitHub's ten-minute limit from iat.
func (ts *TokenSource) appJWT() (string, error) {
	now := ts.now()
	claims := jwt.RegisteredClaims{
		Issuer:    strconv.FormatInt(ts.appID, 10),
		IssuedAt:  jwt.NewNumericDate(now.Add(-60 * time.Second)),
		ExpiresAt: jwt.NewNumericDate(now.Add(9 * time.Minute)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(ts.key)
}

// appCall makes an API call authenticated as the App, with body as JSON
// if not nil, and decodes a JSON reply with status want into out.
func (ts *TokenSource) appCall(ctx context.Context, method, path string, body []byte, want int, out any) error {
	op := method + " " + path
	signed, err := ts.appJWT()
	if err != nil {
		return fmt.Errorf("signing the app jwt: %v", err)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := request(ctx, method, ts.apiURL+path, signed, "application/vnd.github+json", rd)
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-GitHub-Api-Version", apiVersion)
	resp, err := ts.client.Do(req)
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &Error{Op: op, Status: resp.StatusCode, Err: err}
	}
	if resp.StatusCode != want {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(reply, &e)
		return &Error{Op: op, Status: resp.StatusCode, Code: e.Message}
	}
	if err := json.Unmarshal(reply, out); err != nil {
		return &Error{Op: op, Status: resp.StatusCode, Err: err}
	}
	return nil
}

// Transport returns a RoundTripper that sends each request with the
// installation token (Authorization: Bearer), over base
// (http.DefaultTransport if nil). A 401 reply drops the cached token so the
// next request mints a fresh one; the 401 itself is returned as is, since
// the request body may already be spent.
func (ts *TokenSource) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{ts: ts, base: base}
}

type transport struct {
	ts   *TokenSource
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, _, err := t.ts.Token(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	resp, err := t.base.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		t.ts.mu.Lock()
		if t.ts.token == tok {
			t.ts.token, t.ts.expires = "", time.Time{}
		}
		t.ts.mu.Unlock()
	}
	return resp, err
}
