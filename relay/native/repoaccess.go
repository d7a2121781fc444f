package native

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// Repository access. The parser (#11) and media (#10) reach the project's
// repository with one GitHub token per call, chosen here and nowhere else:
// the session's own (a GitHub login's, renewed when it expires), else the
// installation token of the relay's GitHub App (sessions from Google or
// e-mail logins carry no GitHub token), else none, which is refused
// 403 no-repository-access: not GitHub's 401 Bad credentials, on which the
// dashboard would refresh in a loop.

// CodeNoRepositoryAccess answers a session that has no way to the
// repository; the protocol's code, named here too for the package's callers.
const CodeNoRepositoryAccess = protocol.CodeNoRepositoryAccess

var errNoRepositoryAccess = errors.New(CodeNoRepositoryAccess)

// setUpApps makes one installation token source per project, with the
// project's repository and the github block's API URL.
func (n *Native) setUpApps() error {
	app := n.cfg.RepoApp
	if app == nil {
		return nil
	}
	n.apps = map[string]*github.TokenSource{}
	for _, slug := range n.roster.Projects() {
		p := n.roster.Project(slug)
		ts, err := n.gh.Installation(*app, p.RepoOwner, p.RepoSlug)
		if err != nil {
			return fmt.Errorf("project %q: %v", slug, err)
		}
		n.apps[slug] = ts
	}
	// The scan (scan.go), keyed and without a session, reads with the
	// App's token too, unless a token source was given.
	if n.cfg.RepoToken == nil {
		n.cfg.RepoToken = n.appToken
	}
	return nil
}

// appToken is p's installation token.
func (n *Native) appToken(ctx context.Context, p *roster.Project) (string, error) {
	ts := n.apps[p.Slug]
	if ts == nil {
		return "", errNoRepositoryAccess
	}
	tok, _, err := ts.Token(ctx)
	return tok, err
}

// repositoryToken sets c.token to the GitHub token for this call.
func (n *Native) repositoryToken(ctx context.Context, c *sessionClaims, p *roster.Project) error {
	if c.Credential.Token != "" {
		if err := n.freshGitHub(ctx, c); err != nil {
			return err
		}
		c.token, c.viaApp = c.Credential.Token, false
		return nil
	}
	if n.apps[p.Slug] == nil {
		return errNoRepositoryAccess
	}
	tok, err := n.appToken(ctx, p)
	if err != nil {
		if github.Refused(err) {
			// Not installed on the repository, or the App's key refused.
			n.log.Warn("the github app has no access to the project's repository", zap.String("project", p.Slug), zap.Error(err))
			return errNoRepositoryAccess
		}
		return fmt.Errorf("%w: github app token: %v", errUnavailable, err)
	}
	c.token, c.viaApp = tok, true
	return nil
}

// dropAppToken forgets p's installation token after GitHub refused it, so
// the next call mints another.
func (n *Native) dropAppToken(c *sessionClaims, p *roster.Project) {
	if ts := n.apps[p.Slug]; c.viaApp && ts != nil {
		ts.Invalidate()
	}
}

// writeNoRepositoryAccess refuses a session that has no way to the
// repository. The body avoids the word the dashboard refreshes on.
func writeNoRepositoryAccess(w http.ResponseWriter) {
	protocol.WriteError(w, http.StatusForbidden, CodeNoRepositoryAccess)
}
