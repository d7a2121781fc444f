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

// setUpApps makes one installation token source per configured project,
// with the project's repository and the github block's API URL; a project
// made at run time gets its own at its first use (appFor).
func (n *Native) setUpApps() error {
	app := n.cfg.RepoApp
	if app == nil {
		return nil
	}
	n.apps = map[string]*appSource{}
	for _, slug := range n.roster.Configured() {
		p, _ := n.roster.Project(context.Background(), slug)
		ts, err := n.gh.Installation(*app, p.RepoOwner, p.RepoSlug)
		if err != nil {
			return fmt.Errorf("project %q: %v", slug, err)
		}
		n.apps[slug] = &appSource{p: p, ts: ts}
	}
	// The scan (scan.go), keyed and without a session, reads with the
	// App's token too, unless a token source was given.
	if n.cfg.RepoToken == nil {
		n.cfg.RepoToken = n.appToken
	}
	return nil
}

// appSource is the installation token source of one project.
type appSource struct {
	p  *roster.Project // the project it was made for
	ts *github.TokenSource
}

// appFor is p's installation token source; nil without a GitHub App. A
// project made at run time gets its own at its first use, and a new one
// if its slug was deleted and made again.
func (n *Native) appFor(p *roster.Project) *github.TokenSource {
	if n.cfg.RepoApp == nil {
		return nil
	}
	n.appsMu.Lock()
	defer n.appsMu.Unlock()
	if a := n.apps[p.Slug]; a != nil && (a.p == p || !p.Stored) {
		return a.ts
	}
	ts, err := n.gh.Installation(*n.cfg.RepoApp, p.RepoOwner, p.RepoSlug)
	if err != nil {
		n.log.Log.Error("github app for a project made at run time", zap.String("project", p.Slug), zap.Error(err))
		return nil
	}
	n.apps[p.Slug] = &appSource{p: p, ts: ts}
	return ts
}

// appToken is p's installation token.
func (n *Native) appToken(ctx context.Context, p *roster.Project) (string, error) {
	ts := n.appFor(p)
	if ts == nil {
		return "", errNoRepositoryAccess
	}
	tok, _, err := ts.Token(ctx)
	return tok, err
}

// repositoryToken sets c.token to the GitHub token for this call.
func (n *Native) repositoryToken(r *http.Request, c *sessionClaims, p *roster.Project) error {
	ctx := r.Context()
	if c.Credential.Token != "" {
		if err := n.freshGitHub(r, c); err != nil {
			return err
		}
		c.token, c.viaApp = c.Credential.Token, false
		return nil
	}
	if n.appFor(p) == nil {
		return errNoRepositoryAccess
	}
	tok, err := n.appToken(ctx, p)
	if err != nil {
		if github.Refused(err) {
			// Not installed on the repository, or the App's key refused.
			n.log.Warn(r, "the github app has no access to the project's repository", zap.String("project", p.Slug), zap.Error(err))
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
	if ts := n.appFor(p); c.viaApp && ts != nil {
		ts.Invalidate()
	}
}

// writeNoRepositoryAccess refuses a session that has no way to the
// repository. The body avoids the word the dashboard refreshes on.
func writeNoRepositoryAccess(w http.ResponseWriter) {
	protocol.WriteError(w, http.StatusForbidden, CodeNoRepositoryAccess)
}
