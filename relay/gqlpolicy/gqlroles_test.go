package gqlpolicy

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPathPermission(t *testing.T) {
	for path, want := range map[string]string{
		"outstatic/config.json":                           permSettings,
		"/Outstatic/Config.json":                          permSettings,
		"outstatic/content/collections.json":              permCollections,
		"outstatic/content/singletons.json":               permCollections,
		"outstatic/content/posts/schema.json":             permCollections,
		"outstatic/content/_singletons/about.schema.json": permCollections,
		"elsewhere/recipes/schema.json":                   permCollections,
		"outstatic/content/posts/hello.md":                permContent,
		"outstatic/content/metadata.json":                 permContent,
		"outstatic/media/media.json":                      permContent,
		"public/images/a.png":                             permContent,
		"docs/config.json":                                permContent,
	} {
		if got := pathPermission(path, "outstatic"); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
	// Spellings that a case-insensitive or normalizing file system (a
	// checkout on macOS or Windows, an archive unpacked there) takes for
	// the same file are the same file here.
	for path, want := range map[string]string{
		"out\u017ftatic/config.json":                           permSettings, // long s folds to s
		"outstatic/con\u200cfig.json":                          permSettings, // ignored by HFS+
		"outstatic/config.json\ufeff":                          permSettings,
		"outstatic/config.json.":                               permSettings, // trailing dots and spaces dropped by Windows
		"outstatic/config.json ":                               permSettings,
		"outstatic/content/collection\u017f.json":              permCollections,
		"outstatic/content/posts/\u017fchema.json":             permCollections,
		"outstatic/content/_singletons/about.\u017fchema.json": permCollections,
		"outstatic/content/posts/schema.json. ":                permCollections,
		"outstatic/content/posts/sch\u00e9ma.json":             permContent, // another letter
	} {
		if got := pathPermission(path, "outstatic"); got != want {
			t.Errorf("%+q: %s, want %s", path, got, want)
		}
	}
	if got := pathPermission("apps/web/outstatic/config.json", "apps/web/outstatic"); got != permSettings {
		t.Errorf("monorepo settings: %s", got)
	}
}

// authorize: each role's changes, the trailer only for App commits and
// only in a variable input, and no odd spelling of a path.
func TestAuthorizeRoles(t *testing.T) {
	commit := func(input string, vars map[string]any) Verdict {
		t.Helper()
		decl := "" // an inline input declares no variable: GitHub refuses one unused
		if input == "$input" {
			decl = "($input: CreateCommitOnBranchInput!)"
		}
		doc := `mutation createCommit` + decl + ` { createCommitOnBranch(input: ` + input + `) { commit { oid } } }`
		body, _ := json.Marshal(map[string]any{"query": doc, "variables": vars})
		v, err := Check(body, blog)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	input := func(paths ...string) map[string]any {
		var adds []any
		for _, p := range paths {
			adds = append(adds, map[string]any{"path": p, "contents": "eA=="})
		}
		return map[string]any{"input": map[string]any{
			"branch":          map[string]any{"repositoryNameWithOwner": "acme/blog", "branchName": "main"},
			"message":         map[string]any{"headline": "h", "body": "why"},
			"fileChanges":     map[string]any{"additions": adds, "deletions": []any{}},
			"expectedHeadOid": "abc",
		}}
	}
	cases := []struct {
		role  string
		paths []string
		ok    bool
	}{
		{"author", []string{"outstatic/content/posts/a.md", "outstatic/content/metadata.json"}, true},
		{"author", []string{"outstatic/content/posts/a.md", "outstatic/content/posts/schema.json"}, true}, // a new tag
		{"author", []string{"outstatic/content/posts/schema.json"}, false},
		{"author", []string{"outstatic/content/posts/a.md", "outstatic/content/collections.json"}, false},
		{"author", []string{"outstatic/content/singletons.json"}, false},
		{"author", []string{"outstatic/config.json"}, false},
		{"editor", []string{"outstatic/content/collections.json"}, true},
		{"editor", []string{"outstatic/config.json"}, false},
		{"manager", []string{"outstatic/content/recipes/schema.json"}, true},
		{"admin", []string{"outstatic/config.json"}, true},
		{"owner", []string{"outstatic/content/../config.json"}, false},
		{"owner", []string{"outstatic//config.json"}, false},
		{"nobody", []string{"outstatic/content/posts/a.md"}, false},
	}
	for _, tc := range cases {
		v := commit("$input", input(tc.paths...))
		if err := v.Authorize(Access{Role: tc.role}); (err == nil) != tc.ok {
			t.Errorf("%s %v: %v", tc.role, tc.paths, err)
		}
	}
	// The member's own token: the body is forwarded untouched.
	v := commit("$input", input("outstatic/content/posts/a.md"))
	before := string(v.Body)
	if err := v.Authorize(Access{Role: "author"}); err != nil || string(v.Body) != before {
		t.Fatalf("github session: %v", err)
	}
	// The App's token: the member is credited.
	if err := v.Authorize(Access{Role: "author", CoAuthor: "grace@example.com"}); err != nil ||
		!strings.Contains(string(v.Body), `"body":"why\n\nCo-authored-by: grace@example.com <grace@example.com>"`) {
		t.Fatalf("app session: %v %s", err, v.Body)
	}
	// An inline input cannot carry the trailer, and is refused for App commits.
	inline := commit(`{branch: {repositoryNameWithOwner: "acme/blog", branchName: "main"}, message: {headline: "h"}, fileChanges: {additions: [{path: "outstatic/content/posts/a.md", contents: "eA=="}]}, expectedHeadOid: "abc"}`, nil)
	if err := inline.Authorize(Access{Role: "owner", CoAuthor: "grace@example.com"}); err == nil {
		t.Fatal("an inline commit input went out with the app's token")
	}
	// Queries need nothing beyond membership; createRef needs content.manage.
	body, _ := json.Marshal(map[string]any{"query": `mutation CreateBranch($repositoryId: ID!, $name: String!, $oid: GitObjectID!) { createRef(input: {repositoryId: $repositoryId, name: $name, oid: $oid}) { ref { name } } }`,
		"variables": map[string]any{"repositoryId": "R_1", "name": "refs/heads/x", "oid": "abc"}})
	ref, err := Check(body, blog)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Authorize(Access{Role: "author"}) != nil || ref.Authorize(Access{Role: "nobody"}) == nil {
		t.Fatal("createRef permissions")
	}
}

// The schema a document's save may write is an addition: deleting a
// collection's or a singleton's schema is a collections change, even in
// a commit that saves a document.
func TestAuthorizeSchemaDeletion(t *testing.T) {
	commit := func(adds, dels []string) Verdict {
		t.Helper()
		var a, d []any
		for _, p := range adds {
			a = append(a, map[string]any{"path": p, "contents": "eA=="})
		}
		for _, p := range dels {
			d = append(d, map[string]any{"path": p})
		}
		body, _ := json.Marshal(map[string]any{
			"query": `mutation createCommit($input: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $input) { commit { oid } } }`,
			"variables": map[string]any{"input": map[string]any{
				"branch":          map[string]any{"repositoryNameWithOwner": "acme/blog", "branchName": "main"},
				"message":         map[string]any{"headline": "h"},
				"fileChanges":     map[string]any{"additions": a, "deletions": d},
				"expectedHeadOid": "abc",
			}},
		})
		v, err := Check(body, blog)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	doc := []string{"outstatic/content/posts/a.md"}
	for _, schema := range []string{"outstatic/content/posts/schema.json", "outstatic/content/_singletons/about.schema.json"} {
		if v := commit(doc, []string{schema}); v.Authorize(Access{Role: "author"}) == nil {
			t.Errorf("an author deleted %s alongside a document", schema)
		}
		if v := commit(doc, []string{schema}); v.Authorize(Access{Role: "editor"}) != nil {
			t.Errorf("an editor may not delete %s", schema)
		}
	}
	// A document renamed (the old one deleted) with its new tag's options.
	v := commit(append(doc, "outstatic/content/posts/schema.json"), []string{"outstatic/content/posts/old.md"})
	if err := v.Authorize(Access{Role: "author"}); err != nil {
		t.Errorf("a renamed document with a new tag: %v", err)
	}
}
