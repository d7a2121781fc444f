package fakegithub

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/relay/gqlpolicy/ghschema"
)

// An invalid document gets GitHub's errors (graphql-ruby's wording, code,
// path in the document, location) and no data.
func TestValidationErrorsAreGitHubs(t *testing.T) {
	s := start(t)
	tok := s.IssueToken("repo")
	repo := `repository(owner: "acme", name: "blog")`
	// GitHub refuses: every document of this table, with the error tested.
	for _, tc := range []struct {
		name, doc, msg, code string
		path                 []any
		ext                  map[string]any
	}{
		{"unknown field", `query { ` + repo + ` { nope } }`, "Field 'nope' doesn't exist on type 'Repository'", "undefinedField",
			[]any{"query", "repository", "nope"}, map[string]any{"typeName": "Repository", "fieldName": "nope"}},
		{"unknown field in a fragment", `query Q { ` + repo + ` { ...F } } fragment F on Repository { owner { nope } }`,
			"Field 'nope' doesn't exist on type 'RepositoryOwner'", "undefinedField", []any{"fragment F", "owner", "nope"}, nil},
		{"undefined fragment", `query Q { ` + repo + ` { ...F } }`, "Fragment F was used, but not defined", "useAndDefineFragment",
			[]any{"query Q", "repository", "... F"}, map[string]any{"fragmentName": "F"}},
		{"unused variable", `query Q($x: String) { viewer { login } }`, "Variable $x is declared by Q but not used", "variableNotUsed",
			[]any{"query Q"}, map[string]any{"variableName": "x"}},
		{"undeclared variable", `query { repository(owner: $o, name: "blog") { id } }`, "Variable $o is used by anonymous query but not declared",
			"variableNotDefined", []any{"query", "repository", "owner"}, nil},
		{"unknown argument", `query { viewer { login(x: 1) } }`, "Field 'login' doesn't accept argument 'x'", "argumentNotAccepted",
			[]any{"query", "viewer", "login", "x"}, map[string]any{"name": "login", "typeName": "Field", "argumentName": "x"}},
		{"missing arguments", `query { repository { id } }`, "Field 'repository' is missing required arguments: name, owner",
			"missingRequiredArguments", []any{"query", "repository"}, map[string]any{"className": "Field", "arguments": "name, owner"}},
		{"selection on a scalar", `query { viewer { login { x } } }`,
			`Selections can't be made on scalars (field 'login' returns String but has selections ["x"])`, "selectionMismatch",
			[]any{"query", "viewer", "login"}, map[string]any{"nodeName": "field 'login'", "typeName": "String"}},
		{"selection on an enum", `query { ` + repo + ` { visibility { x } } }`,
			`Selections can't be made on enums (field 'visibility' returns RepositoryVisibility but has selections ["x"])`, "selectionMismatch", nil, nil},
		{"no selection", `query { viewer }`, "Field must have selections (field 'viewer' returns User but has no selections. Did you mean 'viewer { ... }'?)",
			"selectionMismatch", []any{"query", "viewer"}, nil},
		{"impossible fragment", `query { ` + repo + ` { ... on Tree { oid } } }`, "Fragment on Tree can't be spread inside Repository",
			"cannotSpreadFragment", []any{"query", "repository", "... on Tree"}, map[string]any{"fragmentName": "unknown", "parentName": "Repository"}},
		{"unknown type", `query { ... on Nope { viewer { id } } }`, "No such type Nope, so it can't be a fragment condition", "undefinedType",
			[]any{"query", "... on Nope"}, nil},
		{"list variable for a string", `query Q($o: [String!]!) { repository(owner: $o, name: "blog") { id } }`,
			"List dimension mismatch on variable $o and argument owner ([String!]! / String!)", "variableMismatch", nil, nil},
		{"nullable variable for a required argument", `query Q($o: String) { repository(owner: $o, name: "blog") { id } }`,
			"Nullability mismatch on variable $o and argument owner (String / String!)", "variableMismatch", nil, nil},
		{"literal of the wrong type", `query { repository(owner: 1, name: "blog") { id } }`,
			"Argument 'owner' on Field 'repository' has an invalid value (1). Expected type 'String!'.", "argumentLiteralsIncompatible",
			[]any{"query", "repository", "owner"}, nil},
		{"input field not declared", `mutation { createRef(input: {repositoryId: "R", name: "refs/heads/x", oid: "a", force: true}) { clientMutationId } }`,
			"InputObject 'CreateRefInput' doesn't accept argument 'force'", "argumentNotAccepted", nil, nil},
		{"input field missing", `mutation { createRef(input: {repositoryId: "R", name: "refs/heads/x"}) { clientMutationId } }`,
			"Argument 'oid' on InputObject 'CreateRefInput' is required. Expected type GitObjectID!", "missingRequiredInputObjectAttribute", nil, nil},
		{"argument twice", `query { repository(owner: "acme", owner: "x", name: "blog") { id } }`, `There can be only one argument named "owner"`,
			"argumentNotUnique", nil, nil},
		{"cycle", `query { ` + repo + ` { object(expression: "main:") { ...A } } } fragment A on Tree { entries { object { ...B } } } fragment B on Tree { ...A }`,
			"Fragment A contains an infinite loop", "infiniteLoop", nil, nil},
		{"subscription", `subscription { viewer { login } }`, "Schema is not configured for subscriptions", "missingSubscriptionConfiguration", nil, nil},
		{"unknown directive", `query { viewer @cached { login } }`, "Directive @cached is not defined", "undefinedDirective", nil, nil},
	} {
		r := post(t, s.GraphQLURL(), tok, "", tc.doc, nil, nil)
		if len(r.Errors) == 0 || r.Data != nil {
			t.Errorf("%s: errors %+v, data %s", tc.name, r.Errors, r.Data)
			continue
		}
		e := r.Errors[0]
		if e.Message != tc.msg || e.Extensions["code"] != tc.code || len(e.Locations) != 1 || e.Locations[0].Line != 1 {
			t.Errorf("%s: %+v", tc.name, e)
		}
		if tc.path != nil && fmt.Sprint(e.Path) != fmt.Sprint(tc.path) {
			t.Errorf("%s: path %v, want %v", tc.name, e.Path, tc.path)
		}
		for k, v := range tc.ext {
			if e.Extensions[k] != v {
				t.Errorf("%s: extensions %v, want %s=%v", tc.name, e.Extensions, k, v)
			}
		}
	}
}

// Every document the stock dashboard sends runs without errors; the one
// GitHub's schema refuses (GetMultipleFileInformation for a repository
// with singletons only) is refused as GitHub refuses it.
func TestDashboardDocuments(t *testing.T) {
	s := start(t)
	tok := s.IssueToken("repo")
	vars := map[string]map[string]any{
		"CreateBranch": {"repositoryId": s.git.ID, "name": "refs/heads/x", "oid": s.Head("")},
		"createCommit": {"input": map[string]any{"branch": map[string]any{"repositoryNameWithOwner": "acme/blog", "branchName": "main"},
			"message": map[string]any{"headline": "h"}, "expectedHeadOid": s.Head("")}},
		"GetBranches": {"first": 10}, "Collections": {"contentPath": "main:outstatic/content"},
		"Document": {"mdPath": "main:README.md", "mdxPath": "main:README.mdx"}, "Documents": {"contentPath": "main:outstatic/content/posts"},
		"File": {"filePath": "main:outstatic/config.json"}, "Files": {"contentPath": "main:outstatic"}, "Oid": {"branch": "main"},
		"GetMultipleFileInformation/several": {"singleton1": "main:README.md"},
	}
	for key, doc := range DashboardDocuments() {
		v := map[string]any{"owner": "acme", "name": "blog", "singleton0": "main:outstatic/config.json"}
		for k, x := range vars[key] {
			v[k] = x
		}
		op, _, _ := strings.Cut(key, "/")
		r := post(t, s.GraphQLURL(), tok, op, doc, v, nil)
		if len(r.Errors) > 0 || r.Data == nil {
			t.Errorf("%s: %+v", key, r.Errors)
		}
	}

	refused := DashboardRefused()
	r := post(t, s.GraphQLURL(), tok, "GetMultipleFileInformation", refused["GetMultipleFileInformation/singletons"],
		map[string]any{"owner": "acme", "name": "blog", "singleton0": "main:outstatic/content/_singletons/about.md"}, nil)
	var got []string
	for _, e := range r.Errors {
		got = append(got, e.Message)
	}
	if r.Data != nil || strings.Join(got, "|") != "Fragment TreeDetails was defined, but not used|Fragment RecursiveTreeDetails was defined, but not used" {
		t.Errorf("singletons only: %q %s", got, r.Data)
	}
}

// Variables are coerced as GitHub coerces them: a lone object where a list
// is expected is a list of one; what gqlparser would let through but
// graphql-ruby does not (an Int as a string, an enum in another case, a
// number for a GitObjectID, a __typename key) is refused, in GitHub's
// words.
func TestVariablesCoerceAsGitHub(t *testing.T) {
	s := start(t)
	q := DashboardDocuments()
	tok := s.IssueToken("repo")
	input := func(change func(map[string]any)) map[string]any {
		in := map[string]any{"branch": map[string]any{"repositoryNameWithOwner": "acme/blog", "branchName": "main"},
			"message": map[string]any{"headline": "lone"}, "expectedHeadOid": s.Head(""),
			"fileChanges": map[string]any{"additions": map[string]any{"path": "lone.md", "contents": base64.StdEncoding.EncodeToString([]byte("one"))}}}
		if change != nil {
			change(in)
		}
		return map[string]any{"input": in}
	}
	noErrors(t, "lone addition", post(t, s.GraphQLURL(), tok, "createCommit", q["createCommit"], input(nil), nil))
	if text, ok := s.File("main", "lone.md"); !ok || text != "one" {
		t.Errorf("the lone addition was not made: %q %v", text, ok)
	}

	refs := `query Q($first: Int!, $d: OrderDirection, $oid: GitObjectID) { repository(owner: "acme", name: "blog") {
		refs(first: $first, refPrefix: "refs/heads/", direction: $d) { totalCount } object(oid: $oid) { oid } } }`
	for _, tc := range []struct {
		name string
		doc  string
		vars map[string]any
		msg  string
		expl string
	}{
		{"Int as a string", refs, map[string]any{"first": "10"}, "Variable $first of type Int! was provided invalid value", `Could not coerce value "10" to Int`},
		{"Int beyond 32 bits", refs, map[string]any{"first": 3000000000}, "Variable $first of type Int! was provided invalid value", "Could not coerce value 3000000000 to Int"},
		{"enum in another case", refs, map[string]any{"first": 1, "d": "asc"}, "Variable $d of type OrderDirection was provided invalid value", `Expected "asc" to be one of: ASC, DESC`},
		{"number for a GitObjectID", refs, map[string]any{"first": 1, "oid": 5}, "Variable $oid of type GitObjectID was provided invalid value", "Could not coerce value 5 to GitObjectID"},
		{"missing variable", refs, map[string]any{}, "Variable $first of type Int! was provided invalid value", "Expected value to not be null"},
		{"unknown input field", q["createCommit"], input(func(in map[string]any) { in["branch"].(map[string]any)["x"] = 1 }),
			"Variable $input of type CreateCommitOnBranchInput! was provided invalid value for branch.x (Field is not defined on CommittableBranch)",
			"Field is not defined on CommittableBranch"},
		{"__typename in an input", q["createCommit"], input(func(in map[string]any) { in["__typename"] = "CreateCommitOnBranchInput" }),
			"Variable $input of type CreateCommitOnBranchInput! was provided invalid value for __typename (Field is not defined on CreateCommitOnBranchInput)",
			"Field is not defined on CreateCommitOnBranchInput"},
		{"missing input field", q["createCommit"], input(func(in map[string]any) { delete(in, "expectedHeadOid") }),
			"Variable $input of type CreateCommitOnBranchInput! was provided invalid value for expectedHeadOid (Expected value to not be null)",
			"Expected value to not be null"},
		{"list item of the wrong type", q["createCommit"], input(func(in map[string]any) {
			in["fileChanges"] = map[string]any{"deletions": []any{map[string]any{"path": true}}}
		}), "Variable $input of type CreateCommitOnBranchInput! was provided invalid value for fileChanges.deletions.0.path (Could not coerce value true to String)",
			"Could not coerce value true to String"},
	} {
		r := post(t, s.GraphQLURL(), tok, "", tc.doc, tc.vars, nil)
		if len(r.Errors) != 1 || r.Data != nil {
			t.Errorf("%s: %+v %s", tc.name, r.Errors, r.Data)
			continue
		}
		e := r.Errors[0]
		problems, _ := e.Extensions["problems"].([]any)
		p, _ := problems[0].(map[string]any)
		if e.Message != tc.msg || p["explanation"] != tc.expl || len(e.Locations) != 1 {
			t.Errorf("%s: %+v", tc.name, e)
		}
	}
	if s.Head("") == "" || len(s.Queries()) == 0 {
		t.Fatal("no requests")
	}
}

// An error nulls the field, and, where GitHub's schema declares the field
// non-null, the nearest nullable field above it, up to data itself.
func TestNullPropagation(t *testing.T) {
	s := start(t)
	tok := s.IssueToken("repo")
	var out map[string]json.RawMessage
	r := post(t, s.GraphQLURL(), tok, "", `query { repository(owner: "acme", name: "nope") { id } rateLimit { remaining } }`, nil, &out)
	if len(r.Errors) != 1 || r.Errors[0].Type != "NOT_FOUND" || fmt.Sprint(r.Errors[0].Path) != "[repository]" ||
		string(out["repository"]) != "null" || !strings.Contains(string(out["rateLimit"]), `"remaining":4999`) {
		t.Errorf("nullable root: %+v %s", r.Errors, r.Data)
	}
	// Repository.owner is non-null: its failing non-null field nulls the
	// owner, so the repository, which is nullable.
	r = post(t, s.GraphQLURL(), tok, "", `query { repository(owner: "acme", name: "blog") { id owner { login repositories(first: 1) { nodes { id } } } }
		rateLimit { remaining } }`, nil, &out)
	if len(r.Errors) != 1 || fmt.Sprint(r.Errors[0].Path) != "[repository owner repositories]" || string(out["repository"]) != "null" ||
		out["rateLimit"] == nil {
		t.Errorf("nested: %+v %s", r.Errors, r.Data)
	}
	// viewer is non-null too: data itself is null.
	r = post(t, s.GraphQLURL(), tok, "", `query { viewer { login repositories(first: 1) { nodes { id } } } }`, nil, nil)
	if len(r.Errors) != 1 || string(r.Data) != "null" || fmt.Sprint(r.Errors[0].Path) != "[viewer repositories]" {
		t.Errorf("to data: %+v %s", r.Errors, r.Data)
	}
	// A nullable list item that fails is null in its place.
	r = post(t, s.GraphQLURL(), tok, "", `query { repository(owner: "acme", name: "blog") { main: ref(qualifiedName: "main") { name }
		none: ref(qualifiedName: "nope") { name } } }`, nil, nil)
	if len(r.Errors) != 0 || !strings.Contains(string(r.Data), `"main":{"name":"main"},"none":null`) {
		t.Errorf("a ref that is not there: %+v %s", r.Errors, r.Data)
	}
}

// Connections are asked for with first or last, at most 100: otherwise
// GitHub answers errors and no data.
func TestPagination(t *testing.T) {
	s := start(t)
	tok := s.IssueToken("repo")
	q := DashboardDocuments()
	for _, tc := range []struct {
		name, doc string
		vars      map[string]any
		typ, msg  string
	}{
		{"first over 100", q["GetBranches"], map[string]any{"owner": "acme", "name": "blog", "first": 101}, "EXCESSIVE_PAGINATION",
			"Requesting 101 records on the `refs` connection exceeds the `first` limit of 100 records."},
		{"last over 100", `query { repository(owner: "acme", name: "blog") { defaultBranchRef { target { ... on Commit { history(last: 200) { totalCount } } } } } }`,
			nil, "EXCESSIVE_PAGINATION", "Requesting 200 records on the `history` connection exceeds the `last` limit of 100 records."},
		{"neither", `query { repository(owner: "acme", name: "blog") { refs(refPrefix: "refs/heads/") { totalCount } } }`, nil,
			"MISSING_PAGINATION_BOUNDARIES", "You must provide a `first` or `last` value to properly paginate the `refs` connection."},
	} {
		r := post(t, s.GraphQLURL(), tok, "", tc.doc, tc.vars, nil)
		if len(r.Errors) != 1 || r.Errors[0].Type != tc.typ || r.Errors[0].Message != tc.msg || r.Data != nil {
			t.Errorf("%s: %+v %s", tc.name, r.Errors, r.Data)
		}
	}
	noErrors(t, "100", post(t, s.GraphQLURL(), tok, "GetBranches", q["GetBranches"], map[string]any{"owner": "acme", "name": "blog", "first": 100}, nil))
}

// A repository owned by an organization, with an annotated tag.
func TestOrganizationsAndTags(t *testing.T) {
	s := New(testID, testSecret, testUser())
	repo := StockRepo("acme", "blog")
	repo.Organization, repo.Tags = true, map[string]string{"v1.0": "First release"}
	s.Repo = repo
	s.Start()
	t.Cleanup(s.Close)
	tok := s.IssueToken("repo")
	var out struct {
		Repository struct {
			Owner  struct{ Typename, Login, Name string }
			Object struct {
				Typename, Name, Message string
				Target                  struct{ Typename, Oid string }
			}
			Ref struct {
				Prefix string
				Target struct{ Typename string }
			}
			Refs   struct{ Nodes []struct{ Name string } }
			Peeled struct{ Text string }
			Tree   json.RawMessage
		}
	}
	fix := func(b string) string { return strings.ReplaceAll(b, "__typename", "typename: __typename") }
	noErrors(t, "org and tag", post(t, s.GraphQLURL(), tok, "", fix(`query { repository(owner: "acme", name: "blog") {
		owner { __typename login ... on Organization { name } }
		object(expression: "v1.0") { __typename ... on Tag { name message target { __typename oid } } }
		ref(qualifiedName: "refs/tags/v1.0") { prefix target { __typename } }
		refs(first: 10, refPrefix: "refs/tags/") { nodes { name } }
		peeled: object(expression: "v1.0:outstatic/config.json") { ... on Blob { text } }
		tree: object(expression: "v1.0") { ... on Tree { entries { name } } } } }`), nil, &out))
	r := out.Repository
	if r.Owner.Typename != "Organization" || r.Owner.Login != "acme" || r.Owner.Name != "acme" {
		t.Errorf("owner %+v", r.Owner)
	}
	if r.Object.Typename != "Tag" || r.Object.Name != "v1.0" || r.Object.Message != "First release" ||
		r.Object.Target.Typename != "Commit" || r.Object.Target.Oid != s.Head("") {
		t.Errorf("tag %+v", r.Object)
	}
	if r.Ref.Prefix != "refs/tags/" || r.Ref.Target.Typename != "Tag" || len(r.Refs.Nodes) != 1 || r.Refs.Nodes[0].Name != "v1.0" {
		t.Errorf("tag ref %+v %+v", r.Ref, r.Refs)
	}
	if !strings.Contains(r.Peeled.Text, "publicMediaPath") || string(r.Tree) != "{}" {
		t.Errorf("peeled %q, a tree fragment on a tag %s", r.Peeled.Text, r.Tree)
	}
}

// Introspection answers from the schema the fake runs on, as the spec
// shapes it.
func TestIntrospection(t *testing.T) {
	s := start(t)
	tok := s.IssueToken("repo")
	type typeRef struct {
		Kind, Name string
		OfType     *typeRef
	}
	var out struct {
		Schema struct {
			QueryType, MutationType struct{ Name string }
			SubscriptionType        *struct{ Name string }
			Types                   []struct{ Kind, Name string }
			Directives              []struct {
				Name      string
				Locations []string
				Args      []struct{ Name string }
			}
		} `json:"__schema"`
		Repository struct {
			Kind   string
			Fields []struct {
				Name string
				Type typeRef
				Args []struct {
					Name         string
					DefaultValue *string
				}
			}
		}
		GitObject struct {
			Kind          string
			PossibleTypes []struct{ Name string }
		}
		Changes struct {
			InputFields []struct {
				Name string
				Type typeRef
			}
		}
		Direction struct{ EnumValues []struct{ Name string } }
		Nope      *struct{ Name string }
		Query     struct {
			Fields []struct {
				Name string
				Args []struct {
					Name         string
					DefaultValue *string
				}
			}
		}
	}
	noErrors(t, "introspection", post(t, s.GraphQLURL(), tok, "", `query {
		__schema { queryType { name } mutationType { name } subscriptionType { name } types { kind name } directives { name locations args { name } } }
		repository: __type(name: "Repository") { kind fields { name type { kind name ofType { kind name ofType { kind name } } } args { name defaultValue } } }
		gitObject: __type(name: "GitObject") { kind possibleTypes { name } }
		changes: __type(name: "FileChanges") { inputFields { name type { kind ofType { kind ofType { kind name } } } } }
		direction: __type(name: "OrderDirection") { enumValues { name } }
		nope: __type(name: "Nope") { name }
		query: __type(name: "Query") { fields { name args { name defaultValue } } } }`, nil, &out))
	schema := ghschema.Schema()
	sc := out.Schema
	if sc.QueryType.Name != "Query" || sc.MutationType.Name != "Mutation" || sc.SubscriptionType != nil || len(sc.Types) != len(schema.Types) {
		t.Errorf("__schema: %+v, %d types of %d", sc.QueryType, len(sc.Types), len(schema.Types))
	}
	kinds := map[string]string{}
	for _, ty := range sc.Types {
		kinds[ty.Name] = ty.Kind
	}
	if kinds["Repository"] != "OBJECT" || kinds["GitObject"] != "INTERFACE" || kinds["FileChanges"] != "INPUT_OBJECT" ||
		kinds["GitObjectID"] != "SCALAR" || kinds["__Schema"] != "OBJECT" || kinds["RepositoryVisibility"] != "ENUM" {
		t.Errorf("kinds %v", kinds)
	}
	var skip *struct {
		Name      string
		Locations []string
		Args      []struct{ Name string }
	}
	for i := range sc.Directives {
		if sc.Directives[i].Name == "skip" {
			skip = &sc.Directives[i]
		}
	}
	if skip == nil || !slices.Contains(skip.Locations, "FIELD") || len(skip.Args) != 1 || skip.Args[0].Name != "if" {
		t.Errorf("@skip %+v", skip)
	}
	fields := map[string]typeRef{}
	for _, f := range out.Repository.Fields {
		fields[f.Name] = f.Type
	}
	id, obj := fields["id"], fields["object"]
	if out.Repository.Kind != "OBJECT" || len(fields) != len(schema.Types["Repository"].Fields) ||
		id.Kind != "NON_NULL" || id.OfType == nil || id.OfType.Name != "ID" || obj.Kind != "INTERFACE" || obj.Name != "GitObject" {
		t.Errorf("Repository fields %v", fields)
	}
	var possible []string
	for _, p := range out.GitObject.PossibleTypes {
		possible = append(possible, p.Name)
	}
	slices.Sort(possible)
	if out.GitObject.Kind != "INTERFACE" || strings.Join(possible, ",") != "Blob,Commit,Tag,Tree" {
		t.Errorf("GitObject %+v", out.GitObject)
	}
	var additions *typeRef
	for _, f := range out.Changes.InputFields {
		if f.Name == "additions" {
			additions = &f.Type
		}
	}
	if additions == nil || additions.Kind != "LIST" || additions.OfType.Kind != "NON_NULL" || additions.OfType.OfType.Name != "FileAddition" {
		t.Errorf("FileChanges.additions %+v", additions)
	}
	if len(out.Direction.EnumValues) != 2 || out.Direction.EnumValues[0].Name != "ASC" || out.Nope != nil {
		t.Errorf("enum %+v, unknown type %+v", out.Direction, out.Nope)
	}
	defaults := map[string]string{}
	for _, f := range out.Query.Fields {
		if strings.HasPrefix(f.Name, "__") {
			t.Errorf("Query lists %s", f.Name)
		}
		for _, a := range f.Args {
			if a.DefaultValue != nil {
				defaults[f.Name+"."+a.Name] = *a.DefaultValue
			}
		}
	}
	if defaults["repository.followRenames"] != "true" || len(out.Query.Fields) != len(schema.Query.Fields)-2 {
		t.Errorf("Query's fields: defaults %v", defaults)
	}
}
