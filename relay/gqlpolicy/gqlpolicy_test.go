package gqlpolicy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
	"github.com/caddy-outstatic/caddy-outstatic/relay/gqlpolicy/ghschema"
)

// blog is the project's repository in these tests.
var blog = Repo{Owner: "acme", Name: "blog"}

// dashboardDocs are the documents the stock dashboard sends, byte for byte
// (the fake GitHub's testdata says where they come from).
func dashboardDocs(testing.TB) map[string]string { return fakegithub.DashboardDocuments() }

// dashboardVars are variables the dashboard sends with each operation, as
// a relay session (not logged in with GitHub) sends them.
var dashboardVars = map[string]map[string]any{
	"CreateBranch": {"repositoryId": "R_kgDOblog", "branchName": "refs/heads/draft", "oid": "0123abcd", "owner": "acme", "name": "blog"},
	"createCommit": {"input": map[string]any{
		"branch":          map[string]any{"repositoryNameWithOwner": "acme/blog", "branchName": "main"},
		"message":         map[string]any{"headline": "Update post"},
		"fileChanges":     map[string]any{"additions": []any{map[string]any{"path": "outstatic/content/posts/a.md", "contents": "aGk="}}, "deletions": []any{}},
		"expectedHeadOid": "0123abcd"}},
	"GetBranches":                            {"owner": "acme", "name": "blog", "first": 100, "query": nil},
	"Collections":                            {"owner": "acme", "name": "blog", "contentPath": "main:outstatic/content"},
	"Document":                               {"owner": "acme", "name": "blog", "mdPath": "main:outstatic/content/posts/a.md", "mdxPath": "main:outstatic/content/posts/a.mdx"},
	"Documents":                              {"owner": "acme", "name": "blog", "contentPath": "main:outstatic/content/singletons"},
	"File":                                   {"owner": "acme", "name": "blog", "filePath": "main:outstatic/config.json"},
	"Files":                                  {"owner": "acme", "name": "blog", "contentPath": "main:public/images"},
	"Oid":                                    {"owner": "acme", "name": "blog", "branch": "main"},
	"GetRepoInfo":                            {"owner": "acme", "name": "blog"},
	"GetMultipleFileInformation":             {"owner": "acme", "name": "blog", "singleton0": "main:outstatic/content/singletons/about.md"},
	"GetMultipleFileInformation/collections": {"owner": "acme", "name": "blog"},
	"GetMultipleFileInformation/several": {"owner": "acme", "name": "blog", "singleton0": "main:outstatic/content/_singletons/about.md",
		"singleton1": "main:outstatic/content/_singletons/home.mdx"},
}

func gqlBody(_ testing.TB, op, query string, vars map[string]any) []byte {
	return fakegithub.DashboardRequest(op, query, vars)
}

func TestCheckGraphQLDashboardOperations(t *testing.T) {
	docs := dashboardDocs(t)
	for op := range dashboardVars {
		if docs[op] == "" {
			t.Errorf("no document for %s", op)
		}
	}
	for key, doc := range docs {
		vars, ok := dashboardVars[key]
		if !ok {
			t.Errorf("%s: no variables in the test; every dashboard operation must be covered", key)
			continue
		}
		op, _, _ := strings.Cut(key, "/") // GetMultipleFileInformation/<variant>
		v, err := Check(gqlBody(t, op, doc, vars), blog)
		if err != nil {
			t.Errorf("%s refused: %v", key, err)
			continue
		}
		if v.Operation != op {
			t.Errorf("%s: operation %q", op, v.Operation)
		}
		namesOnlyProject(t, v, "acme", "blog")
		// the forwarded document means what the dashboard's meant
		var out gqlRequest
		if err := json.Unmarshal(v.Body, &out); err != nil {
			t.Fatal(err)
		}
		if sameDocument(t, doc, out.Query) != "" {
			t.Errorf("%s: the printed document differs: %s", op, sameDocument(t, doc, out.Query))
		}
		if op == "CreateBranch" {
			if v.RepositoryID != "R_kgDOblog" || out.Variables["name"] != "refs/heads/draft" || out.Variables["owner"] != nil {
				t.Errorf("CreateBranch: id %q, variables %v", v.RepositoryID, out.Variables)
			}
		} else if v.RepositoryID != "" {
			t.Errorf("%s asks to confirm a repository ID", op)
		}
	}
	// the GitHub-session form of CreateBranch, and a literal query
	v, err := Check(gqlBody(t, "CreateBranch", docs["CreateBranch"], map[string]any{"repositoryId": "R_1", "name": "refs/heads/x", "oid": "abc"}), blog)
	if err != nil || v.RepositoryID != "R_1" {
		t.Errorf("GitHub-session CreateBranch: %v %q", err, v.RepositoryID)
	}
	if _, err := Check([]byte(`{"query":"query GetRepoInfo { repository(owner: \"acme\", name: \"blog\") { id } }"}`), blog); err != nil {
		t.Errorf("literal GetRepoInfo: %v", err)
	}
	// What the dashboard sends and GitHub's schema refuses is refused here
	// too, before GitHub: GetMultipleFileInformation for a repository with
	// singletons only leaves two fragments unused.
	doc := fakegithub.DashboardRefused()["GetMultipleFileInformation/singletons"]
	_, err = Check(gqlBody(t, "GetMultipleFileInformation", doc, map[string]any{"owner": "acme", "name": "blog",
		"singleton0": "main:outstatic/content/_singletons/about.md"}), blog)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "NoUnusedFragments") {
		t.Errorf("singletons only: %v", err)
	}
}

// sameDocument compares two documents' printed forms after parsing; ""
// when they agree.
func sameDocument(t testing.TB, a, b string) string {
	t.Helper()
	da, err := parser.ParseQuery(&ast.Source{Input: a})
	if err != nil {
		return err.Error()
	}
	db, err := parser.ParseQuery(&ast.Source{Input: b})
	if err != nil {
		return err.Error()
	}
	if len(da.Operations) != len(db.Operations) || len(da.Fragments) != len(db.Fragments) {
		return "definitions differ"
	}
	ja, _ := json.Marshal(stripPositions(da))
	jb, _ := json.Marshal(stripPositions(db))
	if string(ja) != string(jb) {
		return string(ja) + "\n!=\n" + string(jb)
	}
	return ""
}

// stripPositions is a document's shape without positions and comments.
func stripPositions(d *ast.QueryDocument) any {
	var sel func(ast.SelectionSet) []any
	var val func(*ast.Value) any
	val = func(v *ast.Value) any {
		if v == nil {
			return nil
		}
		var children []any
		for _, c := range v.Children {
			children = append(children, []any{c.Name, val(c.Value)})
		}
		kind := v.Kind
		if kind == ast.BlockValue {
			kind = ast.StringValue
		}
		return []any{kind, v.Raw, children}
	}
	sel = func(s ast.SelectionSet) []any {
		var out []any
		for _, x := range s {
			switch x := x.(type) {
			case *ast.Field:
				var args []any
				for _, a := range x.Arguments {
					args = append(args, []any{a.Name, val(a.Value)})
				}
				out = append(out, []any{"field", x.Alias, x.Name, args, len(x.Directives), sel(x.SelectionSet)})
			case *ast.InlineFragment:
				out = append(out, []any{"inline", x.TypeCondition, sel(x.SelectionSet)})
			case *ast.FragmentSpread:
				out = append(out, []any{"spread", x.Name})
			}
		}
		return out
	}
	var out []any
	for _, o := range d.Operations {
		var vars []any
		for _, v := range o.VariableDefinitions {
			vars = append(vars, []any{v.Variable, v.Type.String()})
		}
		out = append(out, []any{o.Operation, o.Name, vars, sel(o.SelectionSet)})
	}
	for _, f := range d.Fragments {
		out = append(out, []any{"fragment", f.Name, f.TypeCondition, sel(f.SelectionSet)})
	}
	return out
}

// namesOnlyProject is the oracle for accepted requests, written apart from
// the checker and resolving values with gqlparser's own Value: the
// forwarded body is one plain request, and every field anywhere in it
// (operations and fragments) that names a repository names the project's,
// or the ID the caller is told to confirm.
func namesOnlyProject(t testing.TB, v Verdict, owner, repo string) {
	t.Helper()
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(v.Body, &keys); err != nil {
		t.Fatalf("forwarded body is not one object: %v", err)
	}
	for k := range keys {
		if k != "query" && k != "variables" && k != "operationName" {
			t.Fatalf("forwarded body has key %q", k)
		}
	}
	var req struct {
		Query     string
		Variables map[string]any
	}
	if err := json.Unmarshal(v.Body, &req); err != nil {
		t.Fatal(err)
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: req.Query})
	if err != nil {
		t.Fatalf("forwarded query does not parse: %v\n%s", err, req.Query)
	}
	if len(doc.Operations) != 1 {
		t.Fatalf("forwarded %d operations", len(doc.Operations))
	}
	arg := func(f *ast.Field, name string) any {
		a := f.Arguments.ForName(name)
		if a == nil {
			return nil
		}
		x, err := a.Value.Value(req.Variables)
		if err != nil {
			t.Fatalf("%s.%s: %v", f.Name, name, err)
		}
		return x
	}
	str := func(x any) string { s, _ := x.(string); return s }
	var walk func(ast.SelectionSet)
	walk = func(s ast.SelectionSet) {
		for _, x := range s {
			switch x := x.(type) {
			case *ast.Field:
				if len(x.Directives) > 0 {
					t.Fatalf("directive on %s forwarded", x.Name)
				}
				switch x.Name {
				case "repository":
					if !asciiFold(str(arg(x, "owner")), owner) || !asciiFold(str(arg(x, "name")), repo) {
						t.Fatalf("forwarded repository(%v, %v)", arg(x, "owner"), arg(x, "name"))
					}
				case "createCommitOnBranch":
					in, _ := arg(x, "input").(map[string]any)
					br, _ := in["branch"].(map[string]any)
					if !asciiFold(str(br["repositoryNameWithOwner"]), owner+"/"+repo) || br["id"] != nil || br["repositoryId"] != nil {
						t.Fatalf("forwarded a commit to %v", br)
					}
				case "createRef":
					in, _ := arg(x, "input").(map[string]any)
					if id := str(in["repositoryId"]); id == "" || id != v.RepositoryID {
						t.Fatalf("forwarded createRef on %q, told to confirm %q", id, v.RepositoryID)
					}
				case "node", "search", "viewer", "user", "organization", "repositoryOwner", "owner",
					"__schema", "__type", "deleteRef", "updateRef", "updateRefs", "parent", "forks", "resource":
					t.Fatalf("forwarded field %s", x.Name)
				}
				walk(x.SelectionSet)
			case *ast.InlineFragment:
				walk(x.SelectionSet)
			}
		}
	}
	for _, x := range doc.Operations[0].SelectionSet {
		if f, ok := x.(*ast.Field); !ok || f.Name != "repository" && f.Name != "createRef" && f.Name != "createCommitOnBranch" {
			t.Fatalf("forwarded root selection %#v", x)
		}
	}
	walk(doc.Operations[0].SelectionSet)
	for _, f := range doc.Fragments {
		walk(f.SelectionSet)
	}
}

// asciiFold compares as GitHub compares names: ASCII only, any case.
// strings.EqualFold alone would fold the Kelvin sign to k.
func asciiFold(a, b string) bool {
	for _, c := range a + b {
		if c > 0x7f {
			return false
		}
	}
	return a != "" && strings.EqualFold(a, b)
}

func TestCheckGraphQLRefusals(t *testing.T) {
	docs := dashboardDocs(t)
	repoQ := func(sel string) string {
		return `query Q($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { ` + sel + ` } }`
	}
	own := map[string]any{"owner": "acme", "name": "blog"}
	body := func(query string, vars map[string]any) string { return string(gqlBody(t, "", query, vars)) }
	withOp := func(op, query string, vars map[string]any) string { return string(gqlBody(t, op, query, vars)) }
	commit := func(branch map[string]any) map[string]any {
		in := map[string]any{}
		for k, v := range dashboardVars["createCommit"]["input"].(map[string]any) {
			in[k] = v
		}
		in["branch"] = branch
		return map[string]any{"input": in}
	}
	refused := map[string]string{
		// other repositories, however named
		"owner variable":           body(docs["GetRepoInfo"], map[string]any{"owner": "evil", "name": "blog"}),
		"name variable":            body(docs["GetRepoInfo"], map[string]any{"owner": "acme", "name": "secrets"}),
		"literal owner":            body(`query { repository(owner: "evil", name: "blog") { id } }`, nil),
		"literal name":             body(`query { repository(owner: "acme", name: "secrets") { id } }`, nil),
		"kelvin sign owner":        body(docs["GetRepoInfo"], map[string]any{"owner": "\u212acme", "name": "blog"}),
		"owner with a slash":       body(docs["GetRepoInfo"], map[string]any{"owner": "acme/blog", "name": "blog"}),
		"owner as a list":          body(`query Q($owner: [String!]!) { repository(owner: $owner, name: "blog") { id } }`, map[string]any{"owner": []any{"acme"}}), // GitHub refuses: a list variable where a String is expected
		"owner missing":            body(`query { repository(name: "blog") { id } }`, nil),                                                                         // GitHub refuses: a required argument left out
		"owner null":               body(docs["GetRepoInfo"], map[string]any{"name": "blog"}),
		"owner as an enum":         body(`query { repository(owner: acme, name: "blog") { id } }`, nil),                               // GitHub refuses: an enum value for a String
		"owner given twice":        body(`query { repository(owner: "acme", owner: "evil", name: "blog") { id } }`, nil),              // GitHub refuses: an argument given twice
		"undeclared variable":      body(`query { repository(owner: $owner, name: "blog") { id } }`, map[string]any{"owner": "acme"}), // GitHub refuses: a variable not declared
		"variable default":         body(`query Q($owner: String = "evil") { repository(owner: $owner, name: "blog") { id } }`, nil),
		"variable declared twice":  body(`query Q($owner: String, $owner: String) { repository(owner: $owner, name: "blog") { id } }`, map[string]any{"owner": "acme"}),                    // GitHub refuses: a variable declared twice
		"variable name case":       body(`query Q($owner: String!, $Owner: String!) { repository(owner: $Owner, name: "blog") { id } }`, map[string]any{"owner": "acme", "Owner": "evil"}), // GitHub refuses: $owner is declared and not used
		"aliased mutation":         body(`mutation { x: createRef(input: {repositoryId: "R_1", name: "refs/heads/x", oid: "a"}) { ref { name } } }`, nil),
		"nested __schema":          body(repoQ(`__schema { types { name } }`), own),
		"followRenames":            body(`query { repository(owner: "acme", name: "blog", followRenames: true) { id } }`, nil),
		"second repository, alias": body(`query { repository(owner: "acme", name: "blog") { id } other: repository(owner: "evil", name: "x") { id } }`, nil),
		"aliased root":             body(`query { a: repository(owner: "acme", name: "blog") { id } }`, nil),
		"root alias twice":         body(`query { a: repository(owner: "acme", name: "blog") { id } b: repository(owner: "acme", name: "blog") { id } }`, nil),
		// other root fields
		"node":            body(`query { node(id: "R_other") { id } }`, nil),     // not in the cut: Node would bring in every type
		"nodes":           body(`query { nodes(ids: ["R_other"]) { id } }`, nil), // not in the cut: Node would bring in every type
		"search":          body(`query { search(query: "org:evil", type: REPOSITORY, first: 10) { repositoryCount } }`, nil),
		"viewer":          body(`query { viewer { repositories(first: 100) { nodes { nameWithOwner } } } }`, nil),
		"viewer login":    body(`query { viewer { login } }`, nil),
		"repositoryOwner": body(`query { repositoryOwner(login: "evil") { repositories(first: 1) { nodes { id } } } }`, nil),
		"organization":    body(`query { organization(login: "evil") { id } }`, nil),
		"user":            body(`query { user(login: "evil") { id } }`, nil),
		"introspection":   body(`query { __schema { types { name } } }`, nil),
		"__type":          body(`query { __type(name: "Repository") { name } }`, nil),
		"root __typename": body(`query { __typename }`, nil),
		"rateLimit":       body(`query { rateLimit { remaining } }`, nil),
		"shorthand node":  body(`{ node(id: "R_other") { id } }`, nil), // not in the cut: Node would bring in every type
		// ways out of the project's repository
		"owner's repositories": body(repoQ(`owner { repositories(first: 100) { nodes { nameWithOwner } } }`), own),
		"parent":               body(repoQ(`parent { id }`), own),
		"forks":                body(repoQ(`forks(first: 1) { nodes { id } }`), own),
		"collaborators":        body(repoQ(`collaborators(first: 1) { nodes { login } }`), own),
		"commit author":        body(repoQ(`object(expression: "main") { ... on Commit { author { user { repositories(first: 1) { nodes { id } } } } } }`), own),
		"pull requests of ref": body(repoQ(`defaultBranchRef { associatedPullRequests(first: 1) { nodes { headRepository { id } } } }`), own),
		"object by oid":        body(repoQ(`object(oid: "0123") { oid }`), own),
		"object without expr":  body(repoQ(`object { oid }`), own),
		"selection on scalar":  body(repoQ(`id { x }`), own),
		"ref's repository":     body(repoQ(`ref(qualifiedName: "main") { repository { id } }`), own),
		"fragment on Tag":      body(repoQ(`object(expression: "v1") { ... on Tag { target { oid } } }`), own),
		"fragment on Query":    body(repoQ(`... on Query { viewer { login } }`), own),
		"typeless fragment":    body(repoQ(`... { id }`), own),
		// fragments, directives
		"root fragment":          body(`query { ...F } fragment F on Query { repository(owner: "evil", name: "x") { id } }`, nil),
		"root inline":            body(`query { ... on Query { repository(owner: "evil", name: "x") { id } } }`, nil),
		"fragment reaching out":  body(repoQ(`...F`)+` fragment F on Repository { owner { login } }`, own),
		"unused fragment":        body(docs["GetRepoInfo"]+` fragment F on Query { repository(owner: "evil", name: "x") { id } }`, own),
		"undefined fragment":     body(repoQ(`...F`), own),
		"fragment defined twice": body(repoQ(`...F`)+` fragment F on Repository { id } fragment F on Repository { owner { login } }`, own),
		"cyclic fragments":       body(repoQ(`object(expression: "x") { ...A }`)+` fragment A on Tree { entries { object { ...B } } } fragment B on Tree { ...A }`, own),
		// gqlparser parses fragment variables (GitHub's parser does not),
		// and the policy refuses them itself.
		"fragment variables":  body(repoQ(`...F`)+` fragment F($x: String) on Repository { id }`, own),
		"include false":       body(repoQ(`id owner @include(if: false) { login }`), own),
		"skip":                body(repoQ(`id @skip(if: true)`), own),
		"operation directive": body(`query Q($owner: String!, $name: String!) @cached { repository(owner: $owner, name: $name) { id } }`, own), // GitHub refuses: no directive @cached
		"fragment directive":  body(repoQ(`...F @include(if: true)`)+` fragment F on Repository { id }`, own),
		"description":         body(`"doc" query Q($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { id } }`, own),
		// operations
		"two operations":             body(docs["GetRepoInfo"]+` query Evil { viewer { login } }`, own),
		"operationName picks other":  withOp("Evil", docs["GetRepoInfo"]+` query Evil { viewer { login } }`, own),
		"operationName names none":   withOp("Evil", docs["GetRepoInfo"], own),
		"subscription":               body(`subscription { repository(owner: "acme", name: "blog") { id } }`, nil),                                  // GitHub refuses: no subscriptions
		"query as mutation":          body(`mutation { repository(owner: "acme", name: "blog") { id } }`, nil),                                      // GitHub refuses: repository is not a mutation
		"mutation in a query":        body(`query { createRef(input: {repositoryId: "R", name: "refs/heads/x", oid: "a"}) { ref { name } } }`, nil), // GitHub refuses: createRef is not a query
		"deleteRef":                  body(`mutation { deleteRef(input: {refId: "REF_x"}) { clientMutationId } }`, nil),
		"updateRef":                  body(`mutation { updateRef(input: {refId: "REF_x", oid: "a", force: true}) { clientMutationId } }`, nil),
		"two mutations":              body(`mutation M($input: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $input) { commit { oid } } deleteRef(input: {refId: "REF_x"}) { clientMutationId } }`, dashboardVars["createCommit"]),
		"commit elsewhere":           body(docs["createCommit"], commit(map[string]any{"repositoryNameWithOwner": "evil/x", "branchName": "main"})),
		"commit by repositoryId":     body(docs["createCommit"], commit(map[string]any{"repositoryId": "R_other", "branchName": "main"})),
		"commit with both":           body(docs["createCommit"], commit(map[string]any{"repositoryNameWithOwner": "acme/blog", "repositoryId": "R_other", "branchName": "main"})),
		"commit nwo with extra part": body(docs["createCommit"], commit(map[string]any{"repositoryNameWithOwner": "acme/blog/x", "branchName": "main"})),
		"commit literal elsewhere":   body(`mutation { createCommitOnBranch(input: {branch: {repositoryNameWithOwner: "evil/x", branchName: "main"}, message: {headline: "x"}, expectedHeadOid: "a"}) { commit { oid } } }`, nil),
		"commit branch variable":     body(`mutation M($b: CommittableBranch!) { createCommitOnBranch(input: {branch: $b, message: {headline: "x"}, expectedHeadOid: "a"}) { commit { oid } } }`, map[string]any{"b": map[string]any{"repositoryNameWithOwner": "evil/x", "branchName": "main"}}),
		"commit unknown input":       body(docs["createCommit"], map[string]any{"input": map[string]any{"branch": map[string]any{"repositoryNameWithOwner": "acme/blog", "branchName": "main"}, "repository": "evil/x"}}),
		"commit input twice":         body(`mutation { createCommitOnBranch(input: {branch: {repositoryNameWithOwner: "acme/blog", repositoryNameWithOwner: "evil/x", branchName: "main"}, message: {headline: "x"}, expectedHeadOid: "a"}) { commit { oid } } }`, nil), // GitHub refuses: an input field given twice
		"commit payload reach":       body(`mutation M($input: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $input) { commit { author { user { login } } } } }`, dashboardVars["createCommit"]),
		"createRef of a tag":         body(docs["CreateBranch"], map[string]any{"repositoryId": "R_1", "name": "refs/tags/v1", "oid": "a"}),
		"createRef without id":       body(docs["CreateBranch"], map[string]any{"name": "refs/heads/x", "oid": "a"}),
		"createRef unknown input":    body(`mutation { createRef(input: {repositoryId: "R_1", name: "refs/heads/x", oid: "a", force: true}) { ref { name } } }`, nil), // GitHub refuses: CreateRefInput has no force
		"createRef literal name":     body(`mutation { createRef(input: {repositoryId: "R_1", name: "refs/heads/", oid: "a"}) { ref { name } } }`, nil),
		// the body itself
		"batch":                  `[` + body(docs["GetRepoInfo"], own) + `]`,
		"duplicate query":        `{"query":` + quoteJSON(docs["GetRepoInfo"]) + `,"query":"query { viewer { login } }","variables":{"owner":"acme","name":"blog"}}`,
		"case-variant query key": `{"query":` + quoteJSON(docs["GetRepoInfo"]) + `,"Query":"query { viewer { login } }","variables":{"owner":"acme","name":"blog"}}`,
		"duplicate variable":     `{"query":` + quoteJSON(docs["GetRepoInfo"]) + `,"variables":{"owner":"acme","owner":"evil","name":"blog"}}`,
		"duplicate nested key":   `{"query":` + quoteJSON(docs["createCommit"]) + `,"variables":{"input":{"branch":{"repositoryNameWithOwner":"acme/blog","repositoryNameWithOwner":"evil/x","branchName":"main"}}}}`,
		"not UTF-8 in a comment": `{"query":` + strings.TrimSuffix(quoteJSON(docs["GetRepoInfo"]+"\n# x"), `x"`) + "\xff\"" + `,"variables":{"owner":"acme","name":"blog"}}`,
		"lone surrogate escape":  `{"query":` + strings.TrimSuffix(quoteJSON(docs["GetRepoInfo"]+"\n# x"), `x"`) + `\ud800"` + `,"variables":{"owner":"acme","name":"blog"}}`,
		"nested too deep":        `{"query":` + quoteJSON(docs["GetRepoInfo"]) + `,"variables":{"owner":"acme","name":"blog","x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}}`,
		"extensions":             `{"query":` + quoteJSON(docs["GetRepoInfo"]) + `,"variables":{"owner":"acme","name":"blog"},"extensions":{"persistedQuery":{"version":1,"sha256Hash":"x"}}}`,
		"trailing data":          body(docs["GetRepoInfo"], own) + `{"query":"query { viewer { login } }"}`,
		"not json":               `query { viewer { login } }`,
		"empty":                  ``,
		"no query":               `{"variables":{}}`,
		"query not a string":     `{"query":["query { viewer { login } }"]}`,
		"variables not object":   `{"query":` + quoteJSON(docs["GetRepoInfo"]) + `,"variables":["acme","blog"]}`,
		"does not parse":         body(`query { repository(owner: "acme", name: "blog") { id }`, nil),
		"empty document":         body(`# nothing`, nil),
	}
	// Every refused document is valid on GitHub's schema, so that the
	// refusal is the policy's own, except those GitHub refuses itself
	// (which the policy refuses too) and those the cut leaves out.
	githubRefuses := map[string]bool{"owner as a list": true, "owner missing": true, "owner as an enum": true, "owner given twice": true,
		"undeclared variable": true, "variable declared twice": true, "variable name case": true, "nested __schema": true,
		"selection on scalar": true, "fragment on Query": true, "unused fragment": true, "undefined fragment": true,
		"fragment defined twice": true, "cyclic fragments": true, "operation directive": true, "subscription": true,
		"query as mutation": true, "mutation in a query": true, "commit input twice": true, "createRef unknown input": true,
		"does not parse": true, "empty document": true}
	outsideTheCut := map[string]bool{"node": true, "nodes": true, "shorthand node": true}
	for name, b := range refused {
		msg, isGraphQL := schemaVerdict(b)
		negative := githubRefuses[name] || outsideTheCut[name]
		switch {
		case !isGraphQL:
		case negative && msg == "":
			t.Errorf("%s: valid on GitHub's schema, though the test counts it as refused by GitHub", name)
		case !negative && msg != "":
			t.Errorf("%s: GitHub's schema refuses it (%s): it does not show the policy's refusal", name, msg)
		}
	}
	for name, b := range refused {
		v, err := Check([]byte(b), blog)
		if err == nil {
			t.Errorf("%s: accepted, forwarding %s", name, v.Body)
			continue
		}
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: error %v is not a refusal", name, err)
		}
		if strings.Contains(err.Error(), "evil") || strings.Contains(err.Error(), "R_other") {
			t.Errorf("%s: the reason quotes a value: %v", name, err)
		}
	}
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Forms that name the project's repository in another spelling are the
// project's repository on GitHub too, and are served.
func TestCheckGraphQLEquivalentForms(t *testing.T) {
	for name, b := range map[string]string{
		"owner in another case": `{"query":"query Q($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { id } }","variables":{"owner":"ACME","name":"Blog"}}`,
		"unicode escape":        `{"query":"query { repository(owner: \"\\u0061cme\", name: \"blog\") { id } }"}`,
		"block string":          `{"query":"query { repository(owner: \"\"\"acme\"\"\", name: \"blog\") { id } }"}`,
		"comments":              `{"query":"# hi\nquery { repository(owner: \"acme\", name: \"blog\") { id # viewer { login }\n } }"}`,
		"null operationName":    `{"query":"query { repository(owner: \"acme\", name: \"blog\") { id } }","operationName":null,"variables":null}`,
		"nested __typename":     `{"query":"query { repository(owner: \"acme\", name: \"blog\") { __typename id } }"}`,
		"extra variables":       `{"query":"query { repository(owner: \"acme\", name: \"blog\") { id } }","variables":{"token":"secret"}}`,
	} {
		v, err := Check([]byte(b), blog)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		namesOnlyProject(t, v, "acme", "blog")
		if strings.Contains(string(v.Body), "viewer") || strings.Contains(string(v.Body), "secret") {
			t.Errorf("%s: forwarded %s", name, v.Body)
		}
	}
}

// Documents other outstatic releases build at run time (upstream's
// graphql/queries/metadata.tsx): the deep form of RecursiveTreeDetails,
// over several folders, and MultipleDocuments. The policy is about
// fields, not byte-exact documents, so they pass.
func TestCheckGraphQLGeneratedDocuments(t *testing.T) {
	tree := "entries { ...TreeDetails object { ... on Blob { ...BlobDetails } } }"
	for i := 0; i < 5; i++ {
		tree = "entries { ...TreeDetails object { ... on Blob { ...BlobDetails } ... on Tree { " + tree + " } } }"
	}
	var folders, files strings.Builder
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&folders, "folder%d: object(expression: \"main:outstatic/content/c%d\") { ... on Tree { commitUrl ...RecursiveTreeDetails } }\n", i, i)
		fmt.Fprintf(&files, "file%d: object(expression: \"main:outstatic/content/c%d/schema.json\") { ... on Blob { text } }\n", i, i)
	}
	own := map[string]any{"owner": "acme", "name": "blog"}
	for op, doc := range map[string]string{
		"GetMultipleFileInformation": `query GetMultipleFileInformation($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { id ` + folders.String() + ` } }
			fragment TreeDetails on TreeEntry { path type }
			fragment BlobDetails on Blob { oid commitUrl }
			fragment RecursiveTreeDetails on Tree { ` + tree + ` }`,
		"MultipleDocuments": `query MultipleDocuments($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { ` + files.String() + ` } }`,
	} {
		v, err := Check(gqlBody(t, op, doc, own), blog)
		if err != nil {
			t.Errorf("%s: %v", op, err)
			continue
		}
		namesOnlyProject(t, v, "acme", "blog")
	}
}

func FuzzCheckGraphQL(f *testing.F) {
	docs := dashboardDocs(f)
	for op, doc := range docs {
		f.Add(gqlBody(f, op, doc, dashboardVars[op]))
	}
	f.Add([]byte(`{"query":"query { repository(owner: \"acme\", name: \"blog\") { id ...F } } fragment F on Repository { object(expression: \"main:x\") { ... on Blob { text } } }"}`))
	f.Add([]byte(`{"query":"mutation { createRef(input: {repositoryId: \"R_1\", name: \"refs/heads/x\", oid: \"a\"}) { ref { name } } }"}`))
	f.Add([]byte(`{"query":"query { repository(owner: \"evil\", name: \"blog\") { id } }"}`))
	f.Add([]byte(`[{"query":"{ viewer { login } }"}]`))
	// lone values where lists are expected, as variables and inline
	f.Add(gqlBody(f, "createCommit", docs["createCommit"], commitVars(map[string]any{"additions": map[string]any{"path": "outstatic/config.json", "contents": "e30="}})))
	f.Add(gqlBody(f, "createCommit", docs["createCommit"], commitVars(map[string]any{"deletions": map[string]any{"path": "outstatic/content/collections.json"}})))
	f.Add(gqlBody(f, "Save", inlineCommit("", `{additions: {path: "outstatic/config.json", contents: "e30="}}`), nil))
	f.Add(gqlBody(f, "Save", inlineCommit("($p: String!)", `{deletions: {path: $p}}`), map[string]any{"p": "outstatic/content/singletons.json"}))
	f.Add(gqlBody(f, "GetBranches", docs["GetBranches"], map[string]any{"owner": "acme", "name": "blog", "first": "100"}))
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := Check(body, blog)
		// the texts kept from earlier inputs change nothing
		uncached, uerr := checkWith(nil, body, blog)
		sameVerdict(t, "against the uncached check", v, err, uncached, uerr)
		if err != nil {
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("error %v is not a refusal", err)
			}
			return
		}
		namesOnlyProject(t, v, "acme", "blog")
		// GitHub reads lists where lists were judged, and an author's
		// commit that passes touches no settings or collection lists
		paths, lists := forwardedFileChanges(t, v.Body)
		if !lists {
			t.Fatalf("forwarded a lone value where a list is expected: %s", v.Body)
		}
		if v.Authorize(Access{Role: "author"}) == nil {
			for _, p := range paths {
				switch strings.ToLower(strings.Trim(p, "/")) {
				case "outstatic/config.json", "outstatic/content/collections.json", "outstatic/content/singletons.json":
					t.Fatalf("an author's commit of %q passed: %s", p, v.Body)
				}
			}
		}
		// what is forwarded passes again, unchanged
		again, err := Check(v.Body, blog)
		if err != nil || string(again.Body) != string(v.Body) || again.RepositoryID != v.RepositoryID {
			t.Fatalf("forwarded body not stable: %v\n%s\n%s", err, v.Body, again.Body)
		}
	})
}

// schemaVerdict validates the document of a request body against GitHub's
// schema: why it is invalid, "" if it is valid; isGraphQL is false when
// the body has no document to judge.
func schemaVerdict(body string) (why string, isGraphQL bool) {
	var req struct{ Query string }
	if json.Unmarshal([]byte(body), &req) != nil || req.Query == "" {
		return "", false
	}
	q, err := parser.ParseQuery(&ast.Source{Input: req.Query})
	switch {
	case err != nil:
		return err.Error(), true
	case len(q.Operations) == 0:
		return "no operation", true
	}
	if errs := validator.ValidateWithRules(ghschema.Schema(), q, nil); len(errs) > 0 {
		return errs.Error(), true
	}
	return "", true
}
