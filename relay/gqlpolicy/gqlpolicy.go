// Package gqlpolicy decides what a dashboard session may ask GitHub
// through the parser endpoint (#11). Check reads a request as GitHub
// reads it (parsed, validated against GitHub's schema, its values coerced
// by the spec) and lets through only the shapes the stock dashboard sends,
// on the project's repository; Verdict.Authorize then holds a change to
// what the member's role allows, by the paths a commit touches. Nothing
// here reads a request, a store or the network: the one file read a
// change may need (gqlconfig.go) comes through Access.ReadFile.
package gqlpolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/caddy-outstatic/caddy-outstatic/relay/gqlpolicy/ghschema"
)

// What the parser endpoint (#11) lets a dashboard session ask of GitHub.
// The session carries the member's own GitHub token, which may reach far
// more than the project's repository; the relay forwards only the shapes
// the stock dashboard (outstatic 2.2.4) sends, against the project's
// repository.
//
// A request is read as GitHub reads it: parsed, validated against
// GitHub's own schema (package ghschema) by gqlparser's validator, and its
// variables and inline arguments coerced by the spec's input rules
// (gqlcoerce.go), so that a lone object where a list is expected is the
// list of one GitHub will see. gqlServed below then judges the coerced
// values: a field not in it, an argument not in it, or an argument whose
// check fails is refused, and so is anything that does not parse,
// validate or coerce.
//
// The forwarded request is rebuilt from what was checked: the variables
// as coerced, the document printed from its parsed tree (lone list values
// written as lists). GitHub therefore never reads bytes the relay read
// differently (duplicate keys, odd escapes, comments, block strings).

// gqlField is what a selection may ask of one field.
type gqlField struct {
	// args are the arguments the field may take, each with its check of
	// the coerced value; a nil check: the schema's type is check enough.
	args map[string]gqlArgCheck
	// required are arguments the policy requires that GitHub's schema
	// lets a request leave out.
	required []string
}

// gqlArgCheck checks an argument's coerced value. It returns a repository
// node ID that the caller must confirm is the project's repository, or
// "".
type gqlArgCheck func(v any, r Repo) (string, error)

// Repo is the project's repository.
type Repo struct{ Owner, Name string }

// gqlServed is the part of GitHub's schema the dashboard uses, by the type
// a field is selected on (an interface's name where it is selected through
// the interface) and field. Query and Mutation are the roots. Every path
// from a root to a repository goes through an argument checked here:
// repository(owner, name), createCommitOnBranch's
// input.branch.repositoryNameWithOwner and createRef's input.repositoryId.
// A fragment may take as its type any type listed here that validation
// lets it take.
var gqlServed = map[string]map[string]gqlField{
	"Query": {
		"repository": {args: map[string]gqlArgCheck{"owner": isProjectOwner, "name": isProjectName}},
	},
	"Mutation": {
		"createRef":            {args: map[string]gqlArgCheck{"input": isCreateRefInput}},
		"createCommitOnBranch": {args: map[string]gqlArgCheck{"input": isCommitInput}},
	},
	"Repository": {
		"id":               {},
		"defaultBranchRef": {},
		"object":           {args: map[string]gqlArgCheck{"expression": isString}, required: []string{"expression"}},
		"ref":              {args: map[string]gqlArgCheck{"qualifiedName": nil}},
		"refs":             {args: map[string]gqlArgCheck{"first": nil, "refPrefix": nil, "query": nil}},
	},
	"Ref":                         {"name": {}, "target": {}},
	"RefConnection":               {"nodes": {}},
	"GitObject":                   {"oid": {}, "commitUrl": {}},
	"Tree":                        {"oid": {}, "commitUrl": {}, "entries": {}},
	"TreeEntry":                   {"name": {}, "type": {}, "path": {}, "object": {}},
	"Blob":                        {"oid": {}, "commitUrl": {}, "text": {}},
	"Commit":                      {"oid": {}, "commitUrl": {}, "history": {args: map[string]gqlArgCheck{"first": nil}}},
	"CommitHistoryConnection":     {"nodes": {}},
	"CreateRefPayload":            {"ref": {}, "clientMutationId": {}},
	"CreateCommitOnBranchPayload": {"commit": {}, "clientMutationId": {}},
}

// Verdict is what Check lets through.
type Verdict struct {
	// Body is the request to forward.
	Body []byte
	// Operation names the operation, for the log (also on refusal, as far
	// as it is known).
	Operation string
	// RepositoryID, if not "", is the repository createRef names by node
	// ID: the caller must confirm it is the project's before forwarding.
	RepositoryID string

	// What Authorize needs (gqlroles.go): the root mutation, if any; a
	// commit's input as coerced, and whether it came as a variable (then
	// it is the very object in out's variables); the request to forward,
	// before encoding.
	mutation  string
	commit    map[string]any
	commitVar bool
	out       map[string]any
}

// ErrRefused is the class of every refusal; the message says why without
// quoting the request's values.
var ErrRefused = errors.New("graphql refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrRefused}, args...)...)
}

// Check checks a GraphQL request for the project's repository and
// returns the request to forward. It applies adaptCreateBranch before
// checking, so what it checks is what GitHub gets. What depends on the
// query text alone is worked out once per text and kept (gqlcache.go);
// the variables and the repository are judged on every call. It never
// panics.
func Check(body []byte, repo Repo) (Verdict, error) {
	return checkWith(documents, body, repo)
}

// checkWith is Check with the documents kept in cache (nil: none kept).
func checkWith(cache *preparedCache, body []byte, repo Repo) (v Verdict, err error) {
	req, err := decodeGraphQLRequest(body)
	if err != nil {
		return v, err
	}
	// The dashboard's CreateBranch for relay sessions needs its variables
	// moved; adapt, then take the result apart again.
	if namesCreateRef(req.Query) {
		canonical, err := json.Marshal(req)
		if err != nil {
			return v, refuse("re-encoding: %v", err)
		}
		if adapted := adaptCreateBranch(canonical); !bytes.Equal(adapted, canonical) {
			if req, err = decodeGraphQLRequest(adapted); err != nil {
				return v, err
			}
		}
	}
	p := cache.get(preparedKey{query: req.Query, operationName: req.OperationName})
	v.Operation = p.opName
	if p.err != nil {
		return v, p.err
	}
	schema := ghschema.Schema()
	vars, err := coerceVariables(schema, p.op, req.Variables)
	if err != nil {
		return v, err
	}
	c := gqlChecker{repo: repo, lits: literals{schema: schema, vars: vars}}
	if err := c.selections(p.op.SelectionSet); err != nil {
		return v, err
	}
	v.RepositoryID = c.repositoryID
	v.mutation, v.commit, v.commitVar = c.mutation, c.commit, c.commitVar

	// Forward the declared variables as coerced, and the document as
	// parsed (and spelled out by spellLists).
	out := map[string]any{"query": p.printed, "variables": vars}
	if p.op.Name != "" {
		out["operationName"] = p.op.Name
	}
	v.out = out
	return v, v.encode()
}

// encode sets Body from out.
func (v *Verdict) encode() error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v.out); err != nil {
		return refuse("encoding: %v", err)
	}
	v.Body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return nil
}

// The argument checks gqlServed names; each gets a value coerced to the
// argument's type.

func isProjectOwner(v any, r Repo) (string, error) {
	if s, ok := v.(string); ok && sameGitHubName(s, r.Owner) {
		return "", nil
	}
	return "", refuse("owner is not the project's")
}

func isProjectName(v any, r Repo) (string, error) {
	if s, ok := v.(string); ok && sameGitHubName(s, r.Name) {
		return "", nil
	}
	return "", refuse("repository is not the project's")
}

func isString(v any, _ Repo) (string, error) {
	if _, ok := v.(string); ok {
		return "", nil
	}
	return "", refuse("not a string")
}

// isCreateRefInput: the dashboard's Create Branch. A branch (refs/heads/),
// in the repository with the returned node ID.
func isCreateRefInput(v any, _ Repo) (string, error) {
	in, _ := v.(map[string]any)
	id, _ := in["repositoryId"].(string)
	name, _ := in["name"].(string)
	if id == "" {
		return "", refuse("createRef without a repositoryId")
	}
	if branch, ok := strings.CutPrefix(name, "refs/heads/"); !ok || branch == "" {
		return "", refuse("createRef of something else than a branch")
	}
	return id, nil
}

// isCommitInput: every save. The branch is named by
// repositoryNameWithOwner, never by its node ID.
func isCommitInput(v any, r Repo) (string, error) {
	in, _ := v.(map[string]any)
	branch, err := inputObject(in["branch"], "repositoryNameWithOwner", "branchName")
	if err != nil {
		return "", err
	}
	nwo, _ := branch["repositoryNameWithOwner"].(string)
	owner, name, ok := strings.Cut(nwo, "/")
	if !ok || !sameGitHubName(owner, r.Owner) || !sameGitHubName(name, r.Name) {
		return "", refuse("commit to a repository that is not the project's")
	}
	return "", nil
}

// inputObject is v as an input object with only the given fields, of the
// ones its type declares.
func inputObject(v any, fields ...string) (map[string]any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, refuse("input is not an object")
	}
	for k := range obj {
		known := false
		for _, f := range fields {
			known = known || k == f
		}
		if !known {
			return nil, refuse("an input field is not served")
		}
	}
	return obj, nil
}

// sameGitHubName compares GitHub owner or repository names as GitHub
// does: ASCII case-insensitively. Anything but ASCII letters, digits,
// '-', '_' and '.' never matches, so Unicode case folding (the Kelvin
// sign folds to k) cannot make two names equal here that GitHub keeps
// apart.
func sameGitHubName(a, b string) bool {
	if a == "" || len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if !isNameByte(x) || !isNameByte(y) || lowerASCII(x) != lowerASCII(y) {
			return false
		}
	}
	return true
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// quoteName bounds a name taken from the request for an error message.
// GraphQL names are [_A-Za-z0-9]; a JSON key may be anything.
func quoteName(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return fmt.Sprintf("%q", s)
}
