package gqlpolicy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/caddy-outstatic/caddy-outstatic/relay/gqlpolicy/ghschema"
)

const headOid = "0123456789abcdef0123456789abcdef01234567"

// commitVars is a createCommitOnBranch input as a variable, with
// fileChanges as given.
func commitVars(fileChanges any) map[string]any {
	return map[string]any{"input": map[string]any{
		"branch":          map[string]any{"repositoryNameWithOwner": "acme/blog", "branchName": "main"},
		"message":         map[string]any{"headline": "Save"},
		"fileChanges":     fileChanges,
		"expectedHeadOid": headOid,
	}}
}

// inlineCommit is a createCommitOnBranch with its input written inline,
// fileChanges as given (GraphQL), under the variables declared in decl.
func inlineCommit(decl, fileChanges string) string {
	return `mutation Save` + decl + ` { createCommitOnBranch(input: {branch: {repositoryNameWithOwner: "acme/blog", branchName: "main"}, ` +
		`message: {headline: "Save"}, expectedHeadOid: "` + headOid + `", fileChanges: ` + fileChanges + `}) { commit { oid } } }`
}

// forwardedFileChanges reads the forwarded request as GitHub would, with
// gqlparser's own Value (no coercion): the additions and deletions paths,
// and whether each was a list.
func forwardedFileChanges(t *testing.T, body []byte) (paths []string, lists bool) {
	t.Helper()
	var req struct {
		Query     string
		Variables map[string]any
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: req.Query})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := doc.Operations[0].SelectionSet[0].(*ast.Field)
	if f == nil || f.Name != "createCommitOnBranch" {
		return nil, true
	}
	in, err := f.Arguments.ForName("input").Value.Value(req.Variables)
	if err != nil {
		t.Fatal(err)
	}
	changes, _ := in.(map[string]any)["fileChanges"].(map[string]any)
	lists = true
	for _, kind := range []string{"additions", "deletions"} {
		switch list := changes[kind].(type) {
		case nil:
		case []any:
			for _, x := range list {
				p, _ := x.(map[string]any)["path"].(string)
				paths = append(paths, p)
			}
		default:
			lists = false
		}
	}
	return paths, lists
}

// A lone addition or deletion is the list of one GitHub makes of it, as a
// variable, inline, nested, or with variables inside: the author's change
// to config.json or collections.json is refused however it is spelled,
// and what is let through is forwarded spelled out as lists.
func TestCheckGraphQLJudgesLoneValuesAsLists(t *testing.T) {
	docs := dashboardDocs(t)
	config := map[string]any{"path": "outstatic/config.json", "contents": "e30="}
	post := map[string]any{"path": "outstatic/content/posts/a.md", "contents": "aGk="}
	for name, tc := range map[string]struct {
		body  []byte
		paths string // the paths judged, in order
		ok    bool   // an author may
	}{
		"variable: one addition": {gqlBody(t, "createCommit", docs["createCommit"],
			commitVars(map[string]any{"additions": config})), "outstatic/config.json", false},
		"variable: one deletion": {gqlBody(t, "createCommit", docs["createCommit"],
			commitVars(map[string]any{"deletions": map[string]any{"path": "outstatic/content/collections.json"}})), "outstatic/content/collections.json", false},
		"variable: one addition with a deletion list": {gqlBody(t, "createCommit", docs["createCommit"],
			commitVars(map[string]any{"additions": post, "deletions": []any{map[string]any{"path": "outstatic/content/singletons.json"}}})),
			"outstatic/content/posts/a.md outstatic/content/singletons.json", false},
		"variable: a post alone": {gqlBody(t, "createCommit", docs["createCommit"],
			commitVars(map[string]any{"additions": post})), "outstatic/content/posts/a.md", true},
		"inline: one addition": {gqlBody(t, "Save", inlineCommit("", `{additions: {path: "outstatic/config.json", contents: "e30="}}`), nil),
			"outstatic/config.json", false},
		"inline: one deletion": {gqlBody(t, "Save", inlineCommit("", `{deletions: {path: "outstatic/content/collections.json"}}`), nil),
			"outstatic/content/collections.json", false},
		"inline with variables inside": {gqlBody(t, "Save", inlineCommit("($p: String!, $c: Base64String!)", `{additions: {path: $p, contents: $c}}`),
			map[string]any{"p": "outstatic/config.json", "c": "e30="}), "outstatic/config.json", false},
		"inline list of variables": {gqlBody(t, "Save", inlineCommit("($a: FileAddition!)", `{additions: [$a]}`),
			map[string]any{"a": config}), "outstatic/config.json", false},
		"fileChanges as a variable": {gqlBody(t, "Save", inlineCommit("($fc: FileChanges)", `$fc`),
			map[string]any{"fc": map[string]any{"deletions": map[string]any{"path": "outstatic/content/collections.json"}}}), "outstatic/content/collections.json", false},
		"additions as a list variable given one": {gqlBody(t, "Save", inlineCommit("($a: [FileAddition!])", `{additions: $a}`),
			map[string]any{"a": config}), "outstatic/config.json", false},
		"inline: a post alone": {gqlBody(t, "Save", inlineCommit("", `{additions: {path: "outstatic/content/posts/a.md", contents: "aGk="}}`), nil),
			"outstatic/content/posts/a.md", true},
	} {
		v, err := Check(tc.body, blog)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		changes, _ := commitPaths(v.commit)
		var paths []string
		for _, c := range changes {
			paths = append(paths, c.path)
		}
		if got := strings.Join(paths, " "); got != tc.paths {
			t.Errorf("%s: judged %q", name, got)
		}
		err = v.Authorize(Access{Role: "author"})
		if (err == nil) != tc.ok {
			t.Errorf("%s: an author's commit: %v", name, err)
		}
		if err := v.Authorize(Access{Role: "admin"}); err != nil {
			t.Errorf("%s: an admin's commit: %v", name, err)
		}
		forwarded, lists := forwardedFileChanges(t, v.Body)
		if !lists || strings.Join(forwarded, " ") != tc.paths {
			t.Errorf("%s: forwarded %v (lists: %v), judged %q\n%s", name, forwarded, lists, tc.paths, v.Body)
		}
	}
}

// What does not coerce to GitHub's types, or names an input field GitHub
// does not declare, is refused, not ignored; so is a write hidden behind
// an alias, a fragment or a directive.
func TestCheckGraphQLRefusesWhatDoesNotCoerce(t *testing.T) {
	docs := dashboardDocs(t)
	commit := func(fileChanges any) []byte {
		return gqlBody(t, "createCommit", docs["createCommit"], commitVars(fileChanges))
	}
	withInput := func(edit func(in map[string]any)) []byte {
		vars := commitVars(map[string]any{"additions": []any{map[string]any{"path": "outstatic/content/posts/a.md", "contents": "aGk="}}})
		edit(vars["input"].(map[string]any))
		return gqlBody(t, "createCommit", docs["createCommit"], vars)
	}
	branches := func(first any) []byte {
		return gqlBody(t, "GetBranches", docs["GetBranches"], map[string]any{"owner": "acme", "name": "blog", "first": first, "query": nil})
	}
	inline := func(fileChanges string) []byte { return gqlBody(t, "Save", inlineCommit("", fileChanges), nil) }
	repoQ := func(sel string) []byte {
		return gqlBody(t, "", `query Q($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { `+sel+` } }`,
			map[string]any{"owner": "acme", "name": "blog"})
	}
	raw := func(s string) []byte { return []byte(s) }
	for name, body := range map[string][]byte{
		// unknown input fields, at any depth
		"unknown field in an addition":     commit(map[string]any{"additions": []any{map[string]any{"path": "a.md", "contents": "aGk=", "mode": "100755"}}}),
		"unknown field in a lone addition": commit(map[string]any{"additions": map[string]any{"path": "a.md", "contents": "aGk=", "evil": true}}),
		"unknown field in fileChanges":     commit(map[string]any{"renames": []any{}}),
		"__typename in an input":           commit(map[string]any{"__typename": "FileChanges"}),
		"branch by its node ID":            withInput(func(in map[string]any) { in["branch"] = map[string]any{"id": "B_other", "branchName": "main"} }),
		"branch ID beside the name":        withInput(func(in map[string]any) { in["branch"].(map[string]any)["id"] = "B_other" }),
		"branch ID null":                   withInput(func(in map[string]any) { in["branch"].(map[string]any)["id"] = nil }),
		"unknown inline field":             inline(`{additions: [{path: "a.md", contents: "aGk=", mode: 1}]}`),
		"unknown inline input":             body2(t, `mutation { createCommitOnBranch(input: {branch: {repositoryNameWithOwner: "acme/blog", branchName: "main"}, message: {headline: "x"}, expectedHeadOid: "`+headOid+`", evil: 1}) { commit { oid } } }`),
		// wrong scalar types
		"first as a string":          branches("100"),
		"first as a fraction":        branches(json.Number("1.5")),
		"first beyond 32 bits":       branches(json.Number("4294967296")),
		"first as a list":            branches([]any{json.Number("1")}),
		"first as a string, inline":  repoQ(`refs(first: "100", refPrefix: "refs/heads/") { nodes { name } }`),
		"first beyond 32 bits, inl.": repoQ(`refs(first: 4294967296, refPrefix: "refs/heads/") { nodes { name } }`),
		"history first as a string":  repoQ(`ref(qualifiedName: "main") { target { ... on Commit { history(first: "1") { nodes { oid } } } } }`),
		"path as a number":           commit(map[string]any{"additions": []any{map[string]any{"path": json.Number("1"), "contents": "aGk="}}}),
		"contents as an object":      commit(map[string]any{"additions": []any{map[string]any{"path": "a.md", "contents": map[string]any{"x": "y"}}}}),
		"contents as a list":         commit(map[string]any{"additions": []any{map[string]any{"path": "a.md", "contents": []any{"aGk="}}}}),
		"head oid as a number":       withInput(func(in map[string]any) { in["expectedHeadOid"] = json.Number("123") }),
		"head oid as a list":         withInput(func(in map[string]any) { in["expectedHeadOid"] = []any{headOid} }),
		"headline as a list":         withInput(func(in map[string]any) { in["message"] = map[string]any{"headline": []any{"x"}} }),
		"body as a number":           withInput(func(in map[string]any) { in["message"] = map[string]any{"headline": "x", "body": json.Number("1")} }),
		"nwo as a list":              withInput(func(in map[string]any) { in["branch"].(map[string]any)["repositoryNameWithOwner"] = []any{"acme/blog"} }),
		"input as a list":            gqlBody(t, "createCommit", docs["createCommit"], map[string]any{"input": []any{commitVars(nil)["input"]}}),
		"owner as a number":          gqlBody(t, "", docs["GetRepoInfo"], map[string]any{"owner": json.Number("1"), "name": "blog"}),
		"owner as a list":            gqlBody(t, "", docs["GetRepoInfo"], map[string]any{"owner": []any{"acme"}, "name": "blog"}),
		"enum in another case":       repoQ(`refs(first: 1, refPrefix: "refs/heads/", direction: asc) { nodes { name } }`),
		"repositoryId as an object": gqlBody(t, "CreateBranch", docs["CreateBranch"],
			map[string]any{"repositoryId": map[string]any{"id": "R_1"}, "name": "refs/heads/x", "oid": headOid}),
		// null where GitHub requires a value
		"owner null":                 gqlBody(t, "", docs["GetRepoInfo"], map[string]any{"owner": nil, "name": "blog"}),
		"input null":                 gqlBody(t, "createCommit", docs["createCommit"], map[string]any{"input": nil}),
		"headline null":              withInput(func(in map[string]any) { in["message"] = map[string]any{"headline": nil} }),
		"head oid missing":           withInput(func(in map[string]any) { delete(in, "expectedHeadOid") }),
		"a null addition":            commit(map[string]any{"additions": []any{nil}}),
		"a null path":                commit(map[string]any{"additions": map[string]any{"path": nil, "contents": "aGk="}}),
		"null path inline":           inline(`{additions: {path: null, contents: "aGk="}}`),
		"null in a list inline":      inline(`{deletions: [null]}`),
		"missing variable in a list": gqlBody(t, "Save", inlineCommit("($a: FileAddition)", `{additions: [$a]}`), nil),
		"null variable inline":       gqlBody(t, "Save", inlineCommit("($p: String)", `{additions: {path: $p, contents: "aGk="}}`), map[string]any{"p": nil}),
		"expression null":            repoQ(`object(expression: null) { oid }`),
		// a variable where its type does not fit
		"lone variable in a list place": gqlBody(t, "Save", inlineCommit("($a: FileAddition!)", `{additions: $a}`),
			map[string]any{"a": map[string]any{"path": "outstatic/config.json", "contents": "e30="}}),
		"variable of another type": gqlBody(t, "", `query Q($owner: Int!) { repository(owner: $owner, name: "blog") { id } }`, map[string]any{"owner": 1}), // GitHub refuses: an Int variable where a String is expected
		// writes hidden behind aliases, fragments and directives
		"commit aliased as a read":      body2(t, `mutation { repository: createCommitOnBranch(input: {branch: {repositoryNameWithOwner: "acme/blog", branchName: "main"}, message: {headline: "x"}, expectedHeadOid: "`+headOid+`"}) { commit { oid } } }`),
		"commit in a fragment":          raw(`{"query":"mutation { ...W } fragment W on Mutation { createCommitOnBranch(input: {branch: {repositoryNameWithOwner: \"acme/blog\", branchName: \"main\"}, message: {headline: \"x\"}, expectedHeadOid: \"` + headOid + `\", fileChanges: {additions: {path: \"outstatic/config.json\", contents: \"e30=\"}}}) { commit { oid } } }"}`),
		"commit in an inline":           raw(`{"query":"mutation { ... on Mutation { createCommitOnBranch(input: {branch: {repositoryNameWithOwner: \"acme/blog\", branchName: \"main\"}, message: {headline: \"x\"}, expectedHeadOid: \"` + headOid + `\"}) { commit { oid } } } }"}`),
		"commit under @include":         raw(`{"query":"mutation { createCommitOnBranch(input: {branch: {repositoryNameWithOwner: \"acme/blog\", branchName: \"main\"}, message: {headline: \"x\"}, expectedHeadOid: \"` + headOid + `\"}) @include(if: true) { commit { oid } } }"}`),
		"skipped read beside commit":    raw(`{"query":"mutation { createCommitOnBranch(input: {branch: {repositoryNameWithOwner: \"acme/blog\", branchName: \"main\"}, message: {headline: \"x\"}, expectedHeadOid: \"` + headOid + `\"}) { commit { oid } ref: commit @skip(if: true) { oid } } }"}`),
		"a second write in a fragment":  raw(`{"query":"mutation M($input: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $input) { commit { oid } } ...W } fragment W on Mutation { createRef(input: {repositoryId: \"R_1\", name: \"refs/heads/x\", oid: \"` + headOid + `\"}) { ref { name } } }","variables":` + string(must(json.Marshal(commitVars(nil)))) + `}`),
		"fragment on a type not served": repoQ(`object(expression: "main:x") { ... on Tag { oid } }`),
		"__typename at the root":        raw(`{"query":"mutation { __typename }"}`),
	} {
		v, err := Check(body, blog)
		if err == nil {
			t.Errorf("%s: accepted, forwarding %s", name, v.Body)
			continue
		}
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: error %v is not a refusal", name, err)
		}
		if strings.Contains(err.Error(), "evil") || strings.Contains(err.Error(), "B_other") || strings.Contains(err.Error(), headOid) {
			t.Errorf("%s: the reason quotes a value: %v", name, err)
		}
	}
}

func body2(t *testing.T, query string) []byte { return gqlBody(t, "", query, nil) }

// typeOf parses a GraphQL type such as "[FileAddition!]".
func typeOf(t *testing.T, typ string) *ast.Type {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: `query($x: ` + typ + `) { id }`})
	if err != nil {
		t.Fatal(err)
	}
	return doc.Operations[0].VariableDefinitions[0].Type
}

// coerceValue by the spec's rules, value by value, where gqlparser's own
// coercion would let more through.
func TestCoerceValue(t *testing.T) {
	s := ghschema.Schema()
	num := func(s string) json.Number { return json.Number(s) }
	for _, tc := range []struct {
		typ  string
		in   any
		want string // JSON of the result, or "" for a refusal
	}{
		{"[Int]", num("1"), `[1]`},
		{"[[Int]]", num("1"), `[[1]]`},
		{"[[Int]]", []any{num("1"), []any{num("2")}}, `[[1],[2]]`},
		{"[Int]", nil, `null`},
		{"[Int]!", nil, ``},
		{"[Int!]", []any{nil}, ``},
		{"[Int]", []any{nil}, `[null]`},
		{"Int", num("-2147483648"), `-2147483648`},
		{"Int", num("2147483648"), ``},
		{"Int", num("1.0"), ``},
		{"Int", num("1e2"), ``},
		{"Int", "1", ``},
		{"Int", int64(7), `7`},
		{"Float", num("1.5"), `1.5`},
		{"Float", "1.5", ``},
		{"Boolean", true, `true`},
		{"Boolean", "true", ``},
		{"String", num("1"), ``},
		{"ID", num("12"), `"12"`},
		{"ID", num("1.5"), ``},
		{"ID", "R_1", `"R_1"`},
		{"GitObjectID", num("12"), ``},
		{"GitObjectID", headOid, `"` + headOid + `"`},
		{"Base64String", map[string]any{}, ``},
		{"OrderDirection", "ASC", `"ASC"`},
		{"OrderDirection", "asc", ``},
		{"OrderDirection", num("0"), ``},
		{"FileChanges", map[string]any{}, `{"additions":[],"deletions":[]}`},
		{"FileChanges", map[string]any{"additions": nil}, `{"additions":null,"deletions":[]}`},
		{"FileChanges", map[string]any{"__typename": "FileChanges"}, ``},
		{"FileChanges", []any{map[string]any{}}, ``},
		{"FileAddition", map[string]any{"path": "a"}, ``},
		{"[FileAddition!]", map[string]any{"path": "a", "contents": "aGk="}, `[{"contents":"aGk=","path":"a"}]`},
		{"CommittableBranch", map[string]any{}, `{}`},
	} {
		got, err := coerceValue(s, typeOf(t, tc.typ), tc.in, 0)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s %#v: coerced to %#v", tc.typ, tc.in, got)
			} else if !errors.Is(err, ErrRefused) {
				t.Errorf("%s %#v: %v is not a refusal", tc.typ, tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %#v: %v", tc.typ, tc.in, err)
			continue
		}
		if b, _ := json.Marshal(got); string(b) != tc.want {
			t.Errorf("%s %#v: %s, want %s", tc.typ, tc.in, b, tc.want)
		}
	}
}

// The forwarded variables are the coerced ones: GitHub reads the lists,
// defaults and strings that were judged, not the request's spelling.
func TestCheckGraphQLForwardsCoercedVariables(t *testing.T) {
	docs := dashboardDocs(t)
	v, err := Check(gqlBody(t, "createCommit", docs["createCommit"],
		commitVars(map[string]any{"additions": map[string]any{"path": "outstatic/content/posts/a.md", "contents": "aGk="}})), blog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(v.Body), `"fileChanges":{"additions":[{"contents":"aGk=","path":"outstatic/content/posts/a.md"}],"deletions":[]}`) {
		t.Errorf("forwarded %s", v.Body)
	}
	v, err = Check(gqlBody(t, "CreateBranch", docs["CreateBranch"],
		map[string]any{"repositoryId": json.Number("42"), "name": "refs/heads/x", "oid": headOid}), blog)
	if err != nil {
		t.Fatal(err)
	}
	if v.RepositoryID != "42" || !strings.Contains(string(v.Body), `"repositoryId":"42"`) {
		t.Errorf("an integer ID: confirm %q, forwarded %s", v.RepositoryID, v.Body)
	}
	again, err := Check(v.Body, blog)
	if err != nil || string(again.Body) != string(v.Body) {
		t.Errorf("the forwarded body does not pass again unchanged: %v\n%s\n%s", err, v.Body, again.Body)
	}
}

// Every field and argument the policy serves is GitHub's, as the cut
// schema has it.
func TestPolicyIsWithinGitHubSchema(t *testing.T) {
	s := ghschema.Schema()
	for typ, fields := range gqlServed {
		def := s.Types[typ]
		if def == nil {
			t.Errorf("type %s is not in the schema", typ)
			continue
		}
		for name, spec := range fields {
			f := def.Fields.ForName(name)
			if f == nil {
				t.Errorf("%s.%s is not in the schema", typ, name)
				continue
			}
			for arg := range spec.args {
				if f.Arguments.ForName(arg) == nil {
					t.Errorf("%s.%s(%s) is not in the schema", typ, name, arg)
				}
			}
			for _, arg := range spec.required {
				if spec.args[arg] == nil && f.Arguments.ForName(arg) == nil {
					t.Errorf("%s.%s requires %s, which it does not serve", typ, name, arg)
				}
			}
		}
	}
}

// The shape bound keeps validation's pairwise comparison of repeated
// names small: a document repeating one name more than gqlMaxRepeats times
// is refused before it is validated, however the repeats are spread.
func TestBoundShapeRepeats(t *testing.T) {
	head := `query { repository(owner: "acme", name: "blog") { `
	ok := head + strings.Repeat("id ", gqlMaxRepeats+1) + "} }"
	if _, err := Check(body2(t, ok), blog); err != nil {
		t.Errorf("%d repeats: %v", gqlMaxRepeats, err)
	}
	for name, q := range map[string]string{
		"siblings":  head + strings.Repeat("id ", gqlMaxRepeats+2) + "} }",
		"fragments": head + strings.Repeat("...F ", gqlMaxRepeats+2) + "} } fragment F on Repository { id }",
		"inline":    head + strings.Repeat("... on Repository { id } ", gqlMaxRepeats+2) + "} }",
		"nested": head + `ref(qualifiedName: "main") { target { ... on Commit { ` +
			strings.Repeat("oid oid oid history(first: 1) { nodes { ", gqlMaxRepeats/2+1) + "oid" +
			strings.Repeat(" } }", gqlMaxRepeats/2+1) + " } } } } }",
	} {
		if _, err := Check(body2(t, q), blog); err == nil || !strings.Contains(err.Error(), "repeat") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
