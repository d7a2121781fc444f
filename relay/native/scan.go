package native

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/scan"
)

// The content scan (#9): the dashboard, setting up collections from
// existing content, asks what the repository holds. The call is keyed and
// has no user session, so the repository is read with the relay's own
// token for it (NativeConfig.RepoToken): the tree in one recursive listing,
// then the documents scan.Scan chooses, one raw contents call each.

// scanTimeout is the protocol's limit for a scan (PROTOCOL.md §8); the
// scan stops a few seconds before it and answers what it has.
const scanTimeout = 30 * time.Second

// scanMaxTree bounds the recursive tree listing's body. GitHub truncates
// the listing itself at 100,000 entries or 7 MB.
const scanMaxTree = 16 << 20

// scanFileLimit bounds one document read: scan.Options skips larger
// documents by the listing's size, this guards against a listing that lied.
const scanFileLimit = 1 << 20

// scanRequest is the dashboard's body.
type scanRequest struct {
	ProjectID string `json:"projectId"`
	Branch    string `json:"branch"`
}

// serveScan answers the content scan with a scan.Result, errors as
// {message} (PROTOCOL.md §8).
func (n *Native) serveScan(w http.ResponseWriter, r *http.Request, p *roster.Project) {
	var req scanRequest
	if err := protocol.ReadJSON(r.Body, &req); err != nil {
		scanError(w, http.StatusBadRequest, "the body must be JSON {projectId, branch}")
		return
	}
	switch {
	case req.ProjectID != p.ID:
		n.log.Info(r, "scan refused", zap.String("project", p.Slug), zap.String("reason", "another project"))
		scanError(w, http.StatusForbidden, "projectId is not the project of this API key")
		return
	case !validRefName(req.Branch):
		scanError(w, http.StatusBadRequest, "branch is not a valid branch name")
		return
	case !p.Pro:
		scanError(w, http.StatusForbidden, "the content scan needs the Pro plan for this project")
		return
	case n.cfg.RepoToken == nil:
		scanError(w, http.StatusNotImplemented, "scan needs the relay's github_app")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), scanTimeout)
	defer cancel()
	token, err := n.cfg.RepoToken(ctx, p)
	if err != nil {
		n.log.Error(r, "scan: no repository token", zap.String("project", p.Slug), zap.Error(err))
		scanError(w, http.StatusBadGateway, "the relay could not get access to the repository")
		return
	}
	files, truncated, err := n.gh.Tree(ctx, token, p.RepoOwner, p.RepoSlug, req.Branch, scanMaxTree)
	if err != nil {
		n.log.Error(r, "scan: listing the repository", zap.String("project", p.Slug), zap.Error(err))
		status, msg := http.StatusBadGateway, "GitHub did not list the repository"
		if errors.Is(err, github.ErrNotFound) {
			status, msg = http.StatusNotFound, "no branch "+req.Branch+" in the repository"
		}
		scanError(w, status, msg)
		return
	}
	read := func(ctx context.Context, path string) ([]byte, error) {
		return n.gh.File(ctx, token, p.RepoOwner, p.RepoSlug, req.Branch, path, scanFileLimit)
	}
	res, err := scan.Scan(ctx, scan.NewPathTree(files, read), scan.Options{Root: p.MonorepoPath})
	if err != nil {
		n.log.Error(r, "scan failed", zap.String("project", p.Slug), zap.Error(err))
		scanError(w, http.StatusBadGateway, "the content scan failed")
		return
	}
	res.Branch = req.Branch
	if truncated {
		res.Truncated = true
		res.Warnings = append(res.Warnings, "GitHub listed only part of the repository: it is too large to list at once.")
	}
	protocol.WriteJSON(w, http.StatusOK, res)
}

// scanError answers {message}, the shape the dashboard reads for a scan.
func scanError(w http.ResponseWriter, status int, message string) {
	protocol.WriteJSON(w, status, map[string]string{"message": message})
}
