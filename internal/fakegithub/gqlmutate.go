package fakegithub

import (
	"encoding/base64"
	"fmt"
	"maps"
	"strings"
)

// The two mutations the dashboard sends: createRef (its "Create Branch")
// and createCommitOnBranch (every save). They change the in-memory
// repository, so a test can follow a save with the next read.

func unprocessable(format string, args ...any) *gqlError {
	return &gqlError{Type: "UNPROCESSABLE", Message: fmt.Sprintf(format, args...)}
}

// createRef makes a branch at oid. Only refs/heads/ names are served.
func (e *execution) createRef(in map[string]any) (any, *gqlError) {
	id, _ := in["repositoryId"].(string)
	name, _ := in["name"].(string)
	oid, _ := in["oid"].(string)
	if id != e.g.ID {
		return nil, &gqlError{Type: "NOT_FOUND", Message: fmt.Sprintf("Could not resolve to a node with the global id of '%s'", id)}
	}
	branch, ok := strings.CutPrefix(name, "refs/heads/")
	if !ok || branch == "" || strings.Contains(branch, "..") {
		return nil, unprocessable("Reference name %q is not a fully qualified branch name (refs/heads/<branch>).", name)
	}
	if e.g.branches[branch] != nil {
		return nil, unprocessable("A ref named %q already exists in the repository.", name)
	}
	c := e.g.commits[oid]
	if c == nil {
		return nil, unprocessable("Object does not exist")
	}
	e.g.branches[branch] = c
	return &payloadObj{typ: "CreateRefPayload", cmid: in["clientMutationId"], ref: &refObj{e.g, headsPrefix, branch}}, nil
}

// createCommitOnBranch applies additions (base64 contents) and deletions
// to the branch head, refusing a stale expectedHeadOid as GitHub does.
func (e *execution) createCommitOnBranch(in map[string]any) (any, *gqlError) {
	br, _ := in["branch"].(map[string]any)
	msg, _ := in["message"].(map[string]any)
	expected, _ := in["expectedHeadOid"].(string)
	if br == nil || msg == nil || expected == "" {
		return nil, unprocessable("Input must have branch, message and expectedHeadOid.")
	}
	nwo, _ := br["repositoryNameWithOwner"].(string)
	rid, _ := br["repositoryId"].(string)
	owner, name, _ := strings.Cut(nwo, "/")
	if !(nwo != "" && e.g.named(owner, name)) && !(rid != "" && rid == e.g.ID) {
		return nil, &gqlError{Type: "NOT_FOUND", Message: fmt.Sprintf("Could not resolve to a Repository with the name '%s'.", nwo)}
	}
	bn, _ := br["branchName"].(string)
	bn = strings.TrimPrefix(bn, "refs/heads/")
	head := e.g.branches[bn]
	if head == nil {
		return nil, &gqlError{Type: "NOT_FOUND", Message: fmt.Sprintf("Could not resolve to a Ref with the name 'refs/heads/%s'.", bn)}
	}
	if expected != head.oid {
		return nil, &gqlError{Type: "STALE_DATA",
			Message: fmt.Sprintf("Expected branch to point to %q but it did not. Pull and try again.", expected)}
	}
	headline, _ := msg["headline"].(string)
	if strings.TrimSpace(headline) == "" {
		return nil, unprocessable("A commit message headline is required.")
	}
	message := headline
	if body, _ := msg["body"].(string); body != "" {
		message += "\n\n" + body
	}
	files := maps.Clone(head.files)
	changes, _ := in["fileChanges"].(map[string]any)
	dels, _ := changes["deletions"].([]any)
	for _, d := range dels {
		m, _ := d.(map[string]any)
		p, _ := m["path"].(string)
		p = strings.Trim(p, "/")
		if _, ok := files[p]; !ok {
			return nil, unprocessable("A path was requested for deletion which does not exist as of commit oid `%s`", head.oid)
		}
		delete(files, p)
	}
	adds, _ := changes["additions"].([]any)
	for _, a := range adds {
		m, _ := a.(map[string]any)
		p, _ := m["path"].(string)
		contents, _ := m["contents"].(string)
		raw, err := base64.StdEncoding.DecodeString(contents)
		if err != nil || strings.Trim(p, "/") == "" {
			return nil, unprocessable("Invalid file addition for path %q: contents must be base64.", p)
		}
		files[strings.Trim(p, "/")] = string(raw)
	}
	c := e.g.newCommit(head, files, message, e.s.now())
	e.g.branches[bn] = c
	return &payloadObj{typ: "CreateCommitOnBranchPayload", cmid: in["clientMutationId"],
		ref: &refObj{e.g, headsPrefix, bn}, commit: &commitObj{e.g, c}}, nil
}

// SetRepo replaces the repository the GraphQL API serves.
func (s *Server) SetRepo(r Repo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Repo = r
	s.git = newGitRepo(r, s.now())
}

// File returns a file's content on branch ("" for the default branch),
// for assertions after a save.
func (s *Server) File(branch, path string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if branch == "" {
		branch = s.git.DefaultBranch
	}
	c := s.git.branches[branch]
	if c == nil {
		return "", false
	}
	text, ok := c.files[strings.Trim(path, "/")]
	return text, ok
}

// Head returns the oid branch points at ("" for the default branch), or
// "" if there is no such branch.
func (s *Server) Head(branch string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if branch == "" {
		branch = s.git.DefaultBranch
	}
	if c := s.git.branches[branch]; c != nil {
		return c.oid
	}
	return ""
}
