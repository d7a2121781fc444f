package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
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
func (n *Native) serveScan(w http.ResponseWriter, r *http.Request) {
	p := n.authProject(w, r, protocol.CodeInvalidAPIKey)
	if p == nil {
		return
	}
	var req scanRequest
	if err := protocol.ReadJSON(r.Body, &req); err != nil {
		scanError(w, http.StatusBadRequest, "the body must be JSON {projectId, branch}")
		return
	}
	switch {
	case req.ProjectID != p.ID:
		n.log.Info("scan refused", zap.String("project", p.Slug), zap.String("reason", "another project"))
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
		n.log.Error("scan: no repository token", zap.String("project", p.Slug), zap.Error(err))
		scanError(w, http.StatusBadGateway, "the relay could not get access to the repository")
		return
	}
	gh := repoReader{n: n, p: p, token: token, ref: req.Branch}
	files, truncated, err := gh.tree(ctx)
	if err != nil {
		n.log.Error("scan: listing the repository", zap.String("project", p.Slug), zap.Error(err))
		status, msg := http.StatusBadGateway, "GitHub did not list the repository"
		if errors.Is(err, errNoBranch) {
			status, msg = http.StatusNotFound, "no branch "+req.Branch+" in the repository"
		}
		scanError(w, status, msg)
		return
	}
	res, err := scan.Scan(ctx, scan.NewPathTree(files, gh.read), scan.Options{Root: p.MonorepoPath})
	if err != nil {
		n.log.Error("scan failed", zap.String("project", p.Slug), zap.Error(err))
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

// errNoBranch is GitHub's 404 for the tree of a branch.
var errNoBranch = errors.New("no such branch")

// repoReader reads a project's repository at ref through GitHub's REST API.
type repoReader struct {
	n     *Native
	p     *Project
	token string
	ref   string
}

// get calls GitHub's REST API at path below the repository.
func (g repoReader) get(ctx context.Context, path, accept string) (*http.Response, error) {
	u := strings.TrimSuffix(g.n.cfg.GitHub.APIURL, "/") + "/repos/" + url.PathEscape(g.p.RepoOwner) + "/" +
		url.PathEscape(g.p.RepoSlug) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+g.token)
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "caddy-outstatic")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	return g.n.cfg.Client.Do(req)
}

// tree lists every file of the repository at ref, with its size, in one
// call (GET /git/trees/{ref}?recursive=1).
func (g repoReader) tree(ctx context.Context) (files map[string]int64, truncated bool, err error) {
	res, err := g.get(ctx, "/git/trees/"+url.PathEscape(g.ref)+"?recursive=1", "application/vnd.github+json")
	if err != nil {
		return nil, false, err
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusNotFound:
		return nil, false, errNoBranch
	case res.StatusCode != http.StatusOK:
		return nil, false, fmt.Errorf("github trees: status %d", res.StatusCode)
	}
	var body struct {
		Tree []struct {
			Path string `json:"path"`
			Type string `json:"type"`
			Size int64  `json:"size"`
		} `json:"tree"`
		Truncated bool `json:"truncated"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, scanMaxTree)).Decode(&body); err != nil {
		return nil, false, fmt.Errorf("github trees: %v", err)
	}
	files = make(map[string]int64, len(body.Tree))
	for _, e := range body.Tree {
		if e.Type == "blob" {
			files[e.Path] = e.Size
		}
	}
	return files, body.Truncated, nil
}

// read fetches one file's bytes at ref (the contents API, raw).
func (g repoReader) read(ctx context.Context, p string) ([]byte, error) {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	res, err := g.get(ctx, "/contents/"+strings.Join(segs, "/")+"?ref="+url.QueryEscape(g.ref), "application/vnd.github.raw")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("github contents %s: status %d", p, res.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, scanFileLimit+1))
	if err == nil && len(b) > scanFileLimit {
		err = fmt.Errorf("github contents %s: over %d bytes", p, scanFileLimit)
	}
	return b, err
}
