package login

import (
	"context"
	"fmt"

	"github.com/caddy-outstatic/caddy-outstatic/identity"
	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// githubLogin is the GitHub login provider: the relay's own OAuth app (or
// a GitHub App's user flow), the web flow with PKCE, and the user read
// from /user and /user/emails, all through the relay's GitHub client. The
// token it gets is also the member's GitHub token for the repository (the
// parser, media), renewed by the native relay with the same app.
type githubLogin struct{ gh *github.Client }

// newGitHubLogin is the GitHub login, if the relay has an OAuth app.
func newGitHubLogin(s Setup) (Provider, error) {
	if !s.Config.GitHub.LogsIn() {
		return nil, nil
	}
	return githubLogin{s.Config.GitHub}, nil
}

// Name is "github".
func (g githubLogin) Name() string { return "github" }

// LoginURL is GitHub's authorize URL for this login.
func (g githubLogin) LoginURL(_ context.Context, state, verifier string) (string, error) {
	return g.gh.LoginURL(state, verifier), nil
}

// Redeem exchanges GitHub's code and reads the user; the member carries
// the GitHub token, and its refresh token and expiry for a GitHub App.
func (g githubLogin) Redeem(ctx context.Context, code, verifier string) (Member, error) {
	cred, err := g.gh.Exchange(ctx, code, verifier)
	if err != nil {
		return Member{}, err
	}
	u, err := g.gh.User(ctx, cred.Token)
	if err != nil {
		return Member{}, fmt.Errorf("%w: %v", ErrUserData, err)
	}
	return githubMember(u, cred), nil
}

// githubMember is a GitHub user as a member, with cred, their token: the
// verified addresses they may be listed under are the member's too, for
// the checks of later steps.
func githubMember(u github.User, cred github.Credential) Member {
	m := Member{Login: u.Login, Name: u.Name, Avatar: u.AvatarURL, Credential: cred}
	for _, e := range u.Emails {
		// An address that does not parse by the identity rule is no
		// member's, and not shown either.
		key, err := identity.Email(e.Address)
		if !e.Verified || err != nil {
			continue
		}
		if e.Primary || m.Email == "" {
			m.Email = e.Address
		}
		// The primary address first, so that a cut keeps it.
		if e.Primary {
			m.Emails = append([]string{key}, m.Emails...)
		} else {
			m.Emails = append(m.Emails, key)
		}
	}
	if len(m.Emails) > roster.MaxEmails {
		m.Emails = m.Emails[:roster.MaxEmails]
	}
	if m.Email == "" {
		// The stock site needs a valid address; GitHub's no-reply form is one.
		m.Email = u.Login + "@users.noreply.github.com"
	}
	return m
}

// Interface guard
var _ Redirector = githubLogin{}
