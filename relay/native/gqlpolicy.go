package native

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"
)

// What the parser endpoint (#11) lets a dashboard session ask of GitHub.
// The session carries the member's own GitHub token, which may reach far
// more than the project's repository; the relay forwards only the shapes
// the stock dashboard (outstatic 2.2.4) sends, against the project's
// repository. gqlSchema below is the whole policy: a field not in it, an
// argument not in it, or an argument whose check fails is refused.
//
// The forwarded request is rebuilt from what was checked: the JSON from
// its decoded values, the document printed from its parsed tree. GitHub
// therefore never reads bytes the relay read differently (duplicate keys,
// odd escapes, comments, block strings).

// gqlField is what a selection may ask of one field.
type gqlField struct {
	// typ is the type of the field's value, a key of gqlSchema; "" for a
	// scalar, which takes no selection.
	typ string
	// args are the arguments the field may take, each with its check.
	args map[string]gqlArgCheck
	// required are the arguments that must be given.
	required []string
}

// gqlArgCheck checks an argument's value, variables resolved. It returns
// a repository node ID that the caller must confirm is the project's
// repository, or "".
type gqlArgCheck func(v any, r gqlRepo) (string, error)

// gqlRepo is the project's repository.
type gqlRepo struct{ owner, name string }

var (
	scalar = gqlField{}
	// gitObject is an object(expression:) or a ref's target. Expressions
	// are "<rev>:<path>" within the repository they are asked of.
	gitObject = gqlField{typ: "GitObject"}
)

// gqlSchema is the part of GitHub's schema the dashboard uses, by type
// and field. Query and Mutation are the roots. Every path from a root to a
// repository goes through an argument checked here: repository(owner,
// name), createCommitOnBranch's input.branch.repositoryNameWithOwner and
// createRef's input.repositoryId.
var gqlSchema = map[string]map[string]gqlField{
	"Query": {
		"repository": {typ: "Repository",
			args:     map[string]gqlArgCheck{"owner": isProjectOwner, "name": isProjectName},
			required: []string{"owner", "name"}},
	},
	"Mutation": {
		"createRef": {typ: "CreateRefPayload",
			args: map[string]gqlArgCheck{"input": isCreateRefInput}, required: []string{"input"}},
		"createCommitOnBranch": {typ: "CreateCommitOnBranchPayload",
			args: map[string]gqlArgCheck{"input": isCommitInput}, required: []string{"input"}},
	},
	"Repository": {
		"id":               scalar,
		"defaultBranchRef": {typ: "Ref"},
		"object": {typ: "GitObject",
			args: map[string]gqlArgCheck{"expression": isString}, required: []string{"expression"}},
		"ref": {typ: "Ref",
			args: map[string]gqlArgCheck{"qualifiedName": isString}, required: []string{"qualifiedName"}},
		"refs": {typ: "RefConnection",
			args: map[string]gqlArgCheck{"first": isInt, "refPrefix": isString, "query": isStringOrNull}},
	},
	"Ref":                         {"name": scalar, "target": gitObject},
	"RefConnection":               {"nodes": {typ: "Ref"}},
	"GitObject":                   {"oid": scalar, "commitUrl": scalar},
	"Tree":                        {"oid": scalar, "commitUrl": scalar, "entries": {typ: "TreeEntry"}},
	"TreeEntry":                   {"name": scalar, "type": scalar, "path": scalar, "object": gitObject},
	"Blob":                        {"oid": scalar, "commitUrl": scalar, "text": scalar},
	"Commit":                      {"oid": scalar, "commitUrl": scalar, "history": {typ: "CommitHistoryConnection", args: map[string]gqlArgCheck{"first": isInt}}},
	"CommitHistoryConnection":     {"nodes": {typ: "Commit"}},
	"CreateRefPayload":            {"ref": {typ: "Ref"}, "clientMutationId": scalar},
	"CreateCommitOnBranchPayload": {"commit": {typ: "Commit"}, "clientMutationId": scalar},
}

// gqlNarrowing lists the type conditions a fragment may take on an
// interface; on any other type only the type itself.
var gqlNarrowing = map[string][]string{"GitObject": {"Tree", "Blob", "Commit"}}

// Limits on what one request may ask, far above the dashboard's needs.
const (
	gqlMaxTokens     = 100000
	gqlMaxSelections = 50000
	gqlMaxDepth      = 64
)

// gqlVerdict is what checkGraphQL lets through.
type gqlVerdict struct {
	// Body is the request to forward.
	Body []byte
	// Operation names the operation, for the log (also on refusal, as far
	// as it is known).
	Operation string
	// RepositoryID, if not "", is the repository createRef names by node
	// ID: the caller must confirm it is the project's before forwarding.
	RepositoryID string

	// What authorize needs (gqlroles.go): the root mutation, if any; a
	// commit's input as forwarded, and whether it came as a variable
	// (then it is the very object in out's variables); the request to
	// forward, before encoding.
	mutation  string
	commit    map[string]any
	commitVar bool
	out       map[string]any
}

// errGraphQL is the class of every refusal; the message says why without
// quoting the request's values.
var errGraphQL = errors.New("graphql refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errGraphQL}, args...)...)
}

// checkGraphQL checks a GraphQL request against gqlSchema for the
// repository owner/repo and returns the request to forward. It applies
// adaptCreateBranch before checking, so what it checks is what GitHub
// gets. It does not import Caddy, and never panics.
func checkGraphQL(body []byte, owner, repo string) (v gqlVerdict, err error) {
	req, err := decodeGraphQLRequest(body)
	if err != nil {
		return v, err
	}
	// The dashboard's CreateBranch for relay sessions needs its variables
	// moved; adapt, then take the result apart again.
	canonical, err := json.Marshal(req)
	if err != nil {
		return v, refuse("re-encoding: %v", err)
	}
	if adapted := adaptCreateBranch(canonical); !bytes.Equal(adapted, canonical) {
		if req, err = decodeGraphQLRequest(adapted); err != nil {
			return v, err
		}
	}
	doc, perr := parser.ParseQueryWithTokenLimit(&ast.Source{Input: req.Query}, gqlMaxTokens)
	if perr != nil {
		return v, refuse("does not parse")
	}
	c := gqlChecker{repo: gqlRepo{owner, repo}, doc: doc, vars: req.Variables, used: map[string]bool{}}
	op, err := c.operation(req.OperationName)
	if op != nil {
		v.Operation = op.Name
	}
	if err != nil {
		return v, err
	}
	if err := c.selections(op.SelectionSet, rootType(op.Operation), 0, true); err != nil {
		return v, err
	}
	for _, f := range doc.Fragments {
		if !c.used[f.Name] {
			return v, refuse("fragment %s is not used", quoteName(f.Name))
		}
	}
	v.RepositoryID = c.repositoryID
	v.mutation, v.commit, v.commitVar = c.mutation, c.commit, c.commitVar

	// Forward only the declared variables, and the document as parsed.
	vars := map[string]any{}
	for _, d := range op.VariableDefinitions {
		if val, ok := req.Variables[d.Variable]; ok {
			vars[d.Variable] = val
		}
	}
	var printed bytes.Buffer
	formatter.NewFormatter(&printed, formatter.WithIndent("  ")).FormatQueryDocument(doc)
	out := map[string]any{"query": printed.String(), "variables": vars}
	if op.Name != "" {
		out["operationName"] = op.Name
	}
	v.out = out
	return v, v.encode()
}

// encode sets Body from out.
func (v *gqlVerdict) encode() error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v.out); err != nil {
		return refuse("encoding: %v", err)
	}
	v.Body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return nil
}

// The argument checks gqlSchema names.

func isProjectOwner(v any, r gqlRepo) (string, error) {
	if s, ok := v.(string); ok && sameGitHubName(s, r.owner) {
		return "", nil
	}
	return "", refuse("owner is not the project's")
}

func isProjectName(v any, r gqlRepo) (string, error) {
	if s, ok := v.(string); ok && sameGitHubName(s, r.name) {
		return "", nil
	}
	return "", refuse("repository is not the project's")
}

func isString(v any, _ gqlRepo) (string, error) {
	if _, ok := v.(string); ok {
		return "", nil
	}
	return "", refuse("not a string")
}

func isStringOrNull(v any, r gqlRepo) (string, error) {
	if v == nil {
		return "", nil
	}
	return isString(v, r)
}

func isInt(v any, _ gqlRepo) (string, error) {
	if n, ok := v.(json.Number); ok {
		if _, err := n.Int64(); err == nil {
			return "", nil
		}
	}
	return "", refuse("not an integer")
}

// isCreateRefInput: the dashboard's Create Branch. A branch (refs/heads/),
// in the repository with the returned node ID.
func isCreateRefInput(v any, _ gqlRepo) (string, error) {
	in, err := inputObject(v, "repositoryId", "name", "oid", "clientMutationId")
	if err != nil {
		return "", err
	}
	id, _ := in["repositoryId"].(string)
	name, _ := in["name"].(string)
	if id == "" {
		return "", refuse("createRef without a repositoryId")
	}
	if branch, ok := strings.CutPrefix(name, "refs/heads/"); !ok || branch == "" {
		return "", refuse("createRef of something else than a branch")
	}
	if _, ok := in["oid"].(string); !ok {
		return "", refuse("createRef without an oid")
	}
	return id, nil
}

// isCommitInput: every save. The branch is named by
// repositoryNameWithOwner, never by repositoryId.
func isCommitInput(v any, r gqlRepo) (string, error) {
	in, err := inputObject(v, "branch", "message", "fileChanges", "expectedHeadOid", "clientMutationId")
	if err != nil {
		return "", err
	}
	branch, err := inputObject(in["branch"], "repositoryNameWithOwner", "branchName")
	if err != nil {
		return "", err
	}
	nwo, _ := branch["repositoryNameWithOwner"].(string)
	owner, name, ok := strings.Cut(nwo, "/")
	if !ok || !sameGitHubName(owner, r.owner) || !sameGitHubName(name, r.name) {
		return "", refuse("commit to a repository that is not the project's")
	}
	return "", nil
}

// inputObject is v as an input object with only the given fields.
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
