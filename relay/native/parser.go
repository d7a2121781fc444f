package native

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/gqlpolicy"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// serveParser answers #11: the dashboard's GraphQL, from the browser.
// The session carries the member's own GitHub token, which may reach much
// more than the project's repository: only what package gqlpolicy allows,
// on the project's repository, goes on to GitHub, and only the changes the
// member's role allows.
func (n *Native) serveParser(w http.ResponseWriter, r *http.Request, c *sessionClaims, p *roster.Project) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil || len(body) > 1<<20 {
		protocol.WriteError(w, http.StatusRequestEntityTooLarge, protocol.CodeTooLarge)
		return
	}
	// Check adapts the dashboard's Create Branch itself, before it checks.
	v, err := gqlpolicy.Check(body, gqlpolicy.Repo{Owner: p.RepoOwner, Name: p.RepoSlug})
	if err == nil {
		err = v.Authorize(n.accessOf(r.Context(), c, p))
	}
	if err != nil {
		n.refuseOperation(w, r, p, c, v.Operation, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if v.RepositoryID != "" {
		id, err := n.gh.RepositoryID(ctx, c.token, p.RepoOwner, p.RepoSlug)
		if errors.Is(err, github.ErrRepositoryHidden) {
			n.refuseOperation(w, r, p, c, v.Operation, err.Error())
			return
		}
		if err != nil {
			n.log.Info(r, "looking up the project's repository ID failed", zap.String("project", p.Slug), zap.Error(err))
			protocol.WriteError(w, http.StatusBadGateway, protocol.CodeServiceUnavailable)
			return
		}
		if id != v.RepositoryID {
			n.refuseOperation(w, r, p, c, v.Operation, "repositoryId is not the project's repository")
			return
		}
	}
	res, err := n.gh.GraphQL(ctx, c.token, v.Body)
	if err != nil {
		n.log.Info(r, "github graphql failed", zap.Error(err))
		protocol.WriteError(w, http.StatusBadGateway, protocol.CodeServiceUnavailable)
		return
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusUnauthorized {
		n.dropAppToken(c, p)
	}
	w.Header().Set("Content-Type", res.Header.Get("Content-Type"))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(res.Body, 32<<20))
}

// accessOf is c's access to p for this call.
func (n *Native) accessOf(ctx context.Context, c *sessionClaims, p *roster.Project) gqlpolicy.Access {
	a := gqlpolicy.Access{Role: c.Role, MonorepoPath: p.MonorepoPath, ReadFile: n.repoFileReader(ctx, c.token, p)}
	if c.viaApp {
		a.Name, a.CoAuthor = c.Name, c.Email
	}
	return a
}

// repoFileReader reads files of p's repository with token, through
// GitHub's GraphQL (a Blob at a revision), bounded in size and time.
func (n *Native) repoFileReader(ctx context.Context, token string, p *roster.Project) gqlpolicy.ReadFile {
	return func(rev, path string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, gqlpolicy.ConfigReadTimeout)
		defer cancel()
		return n.gh.RepositoryFile(ctx, token, p.RepoOwner, p.RepoSlug, rev+":"+path, gqlpolicy.ConfigMaxBytes)
	}
}

// refuseOperation answers a query the policy refused. The body must not
// hold the word "credentials": the dashboard would take it for an expired
// session and refresh (PROTOCOL.md §8). The log names the operation and
// the reason, never the token or the variables' values.
func (n *Native) refuseOperation(w http.ResponseWriter, r *http.Request, p *roster.Project, c *sessionClaims, op, reason string) {
	if len(op) > 100 {
		op = op[:100]
	}
	n.log.Warn(r, "graphql operation refused", zap.String("project", p.Slug), zap.String("login", c.Login),
		zap.String("operation", op), zap.String("reason", reason))
	protocol.WriteError(w, http.StatusForbidden, protocol.CodeForbiddenOperation)
}
