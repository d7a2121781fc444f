package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/caddy-outstatic/caddy-outstatic/identity"
)

// githubLogin is the GitHub login provider: the relay's own OAuth app (or
// a GitHub App's user flow), the web flow with PKCE, and the user read
// from /user and /user/emails. The token it gets is also the member's
// GitHub token for the repository (the parser, media), renewed with the
// same app (github_token.go).
type githubLogin struct {
	oauth  oauth2.Config
	apiURL string // REST API, without a trailing slash
	client *http.Client
	now    func() time.Time
}

// newGitHubLogin makes the provider for app, whose OAuth callback is
// callback; app's URLs have their defaults.
func newGitHubLogin(app GitHubApp, callback string, client *http.Client, now func() time.Time) *githubLogin {
	return &githubLogin{
		oauth: oauth2.Config{
			ClientID:     app.ClientID,
			ClientSecret: app.ClientSecret,
			Endpoint: oauth2.Endpoint{
				AuthURL:   strings.TrimSuffix(app.BaseURL, "/") + "/login/oauth/authorize",
				TokenURL:  strings.TrimSuffix(app.BaseURL, "/") + "/login/oauth/access_token",
				AuthStyle: oauth2.AuthStyleInParams,
			},
			RedirectURL: callback,
			// repo: the dashboard reads and writes the content repository
			// through the parser with this token, as the stock GitHub
			// login requests.
			Scopes: []string{"read:user", "user:email", "repo"},
		},
		apiURL: strings.TrimSuffix(app.APIURL, "/"),
		client: client,
		now:    now,
	}
}

// Name is "github".
func (g *githubLogin) Name() string { return "github" }

// LoginURL is GitHub's authorize URL for this login.
func (g *githubLogin) LoginURL(state, verifier string) string {
	return g.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

// Redeem exchanges GitHub's code and reads the user; the member carries
// the GitHub token, and its refresh token and expiry for a GitHub App.
func (g *githubLogin) Redeem(ctx context.Context, code, verifier string) (member, error) {
	tok, err := g.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, g.client), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return member{}, redactErr(err)
	}
	id, err := g.user(ctx, tok.AccessToken)
	if err != nil {
		return member{}, fmt.Errorf("%w: %v", errUserData, err)
	}
	m := id.member
	m.GitHubRefresh, m.GitHubExpiry = tok.RefreshToken, g.expiry(tok)
	return m, nil
}

// expiry is when tok expires, Unix seconds on the relay's clock, or
// 0 for a token that does not expire. GitHub answers expires_in as a form
// field, which the oauth2 package turns into a wall-clock time only.
func (g *githubLogin) expiry(tok *oauth2.Token) int64 {
	secs := tok.ExpiresIn
	if secs == 0 {
		switch v := tok.Extra("expires_in").(type) {
		case int64:
			secs = v
		case string:
			secs, _ = strconv.ParseInt(v, 10, 64)
		case float64:
			secs = int64(v)
		}
	}
	if secs <= 0 {
		return 0
	}
	return g.now().Add(time.Duration(secs) * time.Second).Unix()
}

// githubIdentity is a GitHub user as a member, and the verified e-mail
// addresses they may be listed under (which the member carries too, for
// the checks of later steps).
type githubIdentity struct {
	member
	emails []string
}

// user reads /user and /user/emails with the user's token.
func (g *githubLogin) user(ctx context.Context, token string) (githubIdentity, error) {
	var u struct {
		Login     string  `json:"login"`
		Name      *string `json:"name"`
		Email     *string `json:"email"`
		AvatarURL string  `json:"avatar_url"`
	}
	if err := g.get(ctx, token, "/user", &u); err != nil {
		return githubIdentity{}, err
	}
	if u.Login == "" {
		return githubIdentity{}, errors.New("github /user has no login")
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := g.get(ctx, token, "/user/emails", &emails); err != nil {
		return githubIdentity{}, err
	}
	id := member{Login: u.Login, Avatar: u.AvatarURL, GitHub: token}
	if u.Name != nil {
		id.Name = *u.Name
	}
	for _, e := range emails {
		// An address that does not parse by the identity rule is no
		// member's, and not shown either.
		key, err := identity.Email(e.Email)
		if !e.Verified || err != nil {
			continue
		}
		if e.Primary || id.Email == "" {
			id.Email = e.Email
		}
		// The primary address first, so that a cut keeps it.
		if e.Primary {
			id.Emails = append([]string{key}, id.Emails...)
		} else {
			id.Emails = append(id.Emails, key)
		}
	}
	if len(id.Emails) > maxEmails {
		id.Emails = id.Emails[:maxEmails]
	}
	if id.Email == "" {
		// The stock site needs a valid address; GitHub's no-reply form is one.
		id.Email = u.Login + "@users.noreply.github.com"
	}
	return githubIdentity{member: id, emails: id.Emails}, nil
}

// get reads one of GitHub's REST resources with the user's token.
func (g *githubLogin) get(ctx context.Context, token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.apiURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("User-Agent", "caddy-outstatic")
	res, err := g.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("github %s: status %d", path, res.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(v)
}

// Interface guard
var _ Provider = (*githubLogin)(nil)
