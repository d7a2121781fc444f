package gqlpolicy

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// cacheCorpus is a set of requests covering what the cache keeps and what
// it must not: the dashboard's operations, lone values where lists are
// expected (as variables, inline, nested, with variables inside), other
// repositories, and refusals at each step that depends only on the text
// (parse, operation, shape, validation) and at each that does not.
func cacheCorpus(t testing.TB) map[string][]byte {
	docs := dashboardDocs(t)
	corpus := map[string][]byte{}
	for op, doc := range docs {
		if vars, ok := dashboardVars[op]; ok {
			name, _, _ := strings.Cut(op, "/")
			corpus["dashboard "+op] = gqlBody(t, name, doc, vars)
		}
	}
	config := map[string]any{"path": "outstatic/config.json", "contents": "e30="}
	post := map[string]any{"path": "outstatic/content/posts/a.md", "contents": "aGk="}
	inline := func(decl, fileChanges string, vars map[string]any) []byte {
		return gqlBody(t, "Save", inlineCommit(decl, fileChanges), vars)
	}
	for name, body := range map[string][]byte{
		"variable: lone addition":  gqlBody(t, "createCommit", docs["createCommit"], commitVars(map[string]any{"additions": post})),
		"variable: lone config":    gqlBody(t, "createCommit", docs["createCommit"], commitVars(map[string]any{"additions": config})),
		"inline: lone addition":    inline("", `{additions: {path: "outstatic/content/posts/a.md", contents: "aGk="}}`, nil),
		"inline: lone deletion":    inline("", `{deletions: {path: "outstatic/content/collections.json"}}`, nil),
		"inline: variables inside": inline("($p: String!, $c: Base64String!)", `{additions: {path: $p, contents: $c}}`, map[string]any{"p": "outstatic/content/posts/b.md", "c": "aGk="}),
		"inline: list of variable": inline("($a: FileAddition!)", `{additions: [$a]}`, map[string]any{"a": config}),
		"inline: lone variable":    inline("($a: FileAddition!)", `{additions: $a}`, map[string]any{"a": config}),
		"inline: both lone":        inline("", `{additions: {path: "outstatic/content/posts/a.md", contents: "aGk="}, deletions: {path: "outstatic/content/posts/b.md"}}`, nil),
		"inline: other repository": []byte(strings.Replace(string(inline("", `{additions: {path: "a.md", contents: "aGk="}}`, nil)), "acme/blog", "evil/blog", 1)),
		"inline owner":             gqlBody(t, "", `query { repository(owner: "acme", name: "blog") { id } }`, nil),
		"inline other owner":       gqlBody(t, "", `query { repository(owner: "evil", name: "blog") { id } }`, nil),
		"variable other owner":     gqlBody(t, "GetRepoInfo", docs["GetRepoInfo"], map[string]any{"owner": "evil", "name": "blog"}),
		"variable missing":         gqlBody(t, "GetRepoInfo", docs["GetRepoInfo"], map[string]any{"name": "blog"}),
		"branches first string":    gqlBody(t, "GetBranches", docs["GetBranches"], map[string]any{"owner": "acme", "name": "blog", "first": "100"}),
		"create branch":            gqlBody(t, "CreateBranch", docs["CreateBranch"], dashboardVars["CreateBranch"]),
		"does not parse":           gqlBody(t, "", `query { repository(owner: "acme", name: "blog") { id }`, nil),
		"two operations":           gqlBody(t, "", `query A { repository(owner: "acme", name: "blog") { id } } query B { repository(owner: "acme", name: "blog") { id } }`, nil),
		"another operationName":    gqlBody(t, "Other", docs["GetRepoInfo"], dashboardVars["GetRepoInfo"]),
		"spreads itself":           gqlBody(t, "", `query { repository(owner: "acme", name: "blog") { ...F } } fragment F on Repository { ...F }`, nil), // GitHub refuses: a fragment that spreads itself
		"does not validate":        gqlBody(t, "", `query { repository(owner: "acme", name: "blog") { nope } }`, nil),                                   // GitHub refuses: no such field
		"not served":               gqlBody(t, "", `query { viewer { login } }`, nil),
		"not JSON":                 []byte(`{"query":`),
	} {
		corpus[name] = body
	}
	return corpus
}

// sameVerdict fails unless a and b (and their errors) are the same in
// everything Check's caller and Authorize read.
func sameVerdict(t testing.TB, name string, a Verdict, aerr error, b Verdict, berr error) {
	t.Helper()
	// Both refuse or neither; the texts may name different faults of one
	// request (gqlparser's validator walks variables in map order).
	if (aerr == nil) != (berr == nil) || (aerr != nil && (!errors.Is(aerr, ErrRefused) || !errors.Is(berr, ErrRefused))) {
		t.Errorf("%s: error %v, uncached %v", name, aerr, berr)
	}
	if string(a.Body) != string(b.Body) || a.Operation != b.Operation || a.RepositoryID != b.RepositoryID ||
		a.mutation != b.mutation || a.commitVar != b.commitVar ||
		!reflect.DeepEqual(a.commit, b.commit) || !reflect.DeepEqual(a.out, b.out) {
		t.Errorf("%s: verdict\n%+v\nuncached\n%+v", name, a, b)
	}
}

// A request checked against a kept document gets the verdict it gets
// with nothing kept: on first sight, and again once its text is kept.
func TestCheckCachedAsUncached(t *testing.T) {
	cache := &preparedCache{}
	for round := 0; round < 2; round++ {
		for name, body := range cacheCorpus(t) {
			want, werr := checkWith(nil, body, blog)
			got, gerr := checkWith(cache, body, blog)
			sameVerdict(t, fmt.Sprintf("%s (round %d)", name, round), got, gerr, want, werr)
		}
	}
	if n, _ := cache.len(); n == 0 {
		t.Fatal("nothing was kept")
	}
}

// A text first seen with the project's repository, its variables or its
// operationName is judged afresh when it comes again with another's: the
// kept document carries no verdict that depends on them.
func TestCheckCacheIsNotPoisoned(t *testing.T) {
	docs := dashboardDocs(t)
	other := Repo{Owner: "acme", Name: "other"}
	for name, tc := range map[string]struct {
		first, then []byte
		thenRepo    Repo
		refused     bool // the second request, as it must be judged
	}{
		"variables naming another repository": {
			gqlBody(t, "GetRepoInfo", docs["GetRepoInfo"], dashboardVars["GetRepoInfo"]),
			gqlBody(t, "GetRepoInfo", docs["GetRepoInfo"], map[string]any{"owner": "acme", "name": "secrets"}), blog, true},
		"another project, same variables": {
			gqlBody(t, "GetRepoInfo", docs["GetRepoInfo"], dashboardVars["GetRepoInfo"]),
			gqlBody(t, "GetRepoInfo", docs["GetRepoInfo"], dashboardVars["GetRepoInfo"]), other, true},
		"another project, inline names": {
			gqlBody(t, "", `query { repository(owner: "acme", name: "blog") { id } }`, nil),
			gqlBody(t, "", `query { repository(owner: "acme", name: "blog") { id } }`, nil), other, true},
		"a commit of settings after a post": {
			gqlBody(t, "createCommit", docs["createCommit"], commitVars(map[string]any{"additions": map[string]any{"path": "outstatic/content/posts/a.md", "contents": "aGk="}})),
			gqlBody(t, "createCommit", docs["createCommit"], commitVars(map[string]any{"additions": map[string]any{"path": "outstatic/config.json", "contents": "e30="}})), blog, false},
		"a refused repository first": {
			gqlBody(t, "GetRepoInfo", docs["GetRepoInfo"], map[string]any{"owner": "evil", "name": "blog"}),
			gqlBody(t, "GetRepoInfo", docs["GetRepoInfo"], dashboardVars["GetRepoInfo"]), blog, false},
		"another operationName": {
			gqlBody(t, "GetRepoInfo", docs["GetRepoInfo"], dashboardVars["GetRepoInfo"]),
			gqlBody(t, "Other", docs["GetRepoInfo"], dashboardVars["GetRepoInfo"]), blog, true},
	} {
		cache := &preparedCache{}
		if _, err := checkWith(cache, tc.first, blog); err != nil && !strings.Contains(name, "refused") {
			t.Fatalf("%s: first request: %v", name, err)
		}
		got, gerr := checkWith(cache, tc.then, tc.thenRepo)
		want, werr := checkWith(nil, tc.then, tc.thenRepo)
		sameVerdict(t, name, got, gerr, want, werr)
		if (gerr != nil) != tc.refused {
			t.Errorf("%s: second request: %v", name, gerr)
		}
		for _, role := range []string{"author", "editor", "admin"} {
			a := Access{Role: role}
			if gerr == nil && fmt.Sprint(got.Authorize(a)) != fmt.Sprint(want.Authorize(a)) {
				t.Errorf("%s: %s: authorized %v, uncached %v", name, role, got.Authorize(a), want.Authorize(a))
			}
		}
	}
}

// Requests sharing kept documents at the same time, each with its own
// variables, each get the body the uncached check gives them; run with
// -race, this also shows that nothing writes to a kept document.
func TestCheckCacheConcurrent(t *testing.T) {
	docs := dashboardDocs(t)
	bodies := func(i int) [][]byte {
		path := fmt.Sprintf("outstatic/content/posts/p%d.md", i)
		return [][]byte{
			gqlBody(t, "createCommit", docs["createCommit"], commitVars(map[string]any{"additions": map[string]any{"path": path, "contents": "aGk="}})),
			gqlBody(t, "Save", inlineCommit("($p: String!)", `{additions: {path: $p, contents: "aGk="}, deletions: {path: "outstatic/content/posts/old.md"}}`), map[string]any{"p": path}),
			gqlBody(t, "Save", inlineCommit("", `{additions: {path: "outstatic/content/posts/a.md", contents: "aGk="}}`), nil),
			gqlBody(t, "Document", docs["Document"], map[string]any{"owner": "acme", "name": "blog", "mdPath": "main:" + path, "mdxPath": "main:" + path + "x"}),
			gqlBody(t, "GetRepoInfo", docs["GetRepoInfo"], map[string]any{"owner": fmt.Sprintf("evil%d", i), "name": "blog"}),
		}
	}
	const workers, rounds = 8, 20
	want := make([][]Verdict, workers)
	werr := make([][]error, workers)
	for w := range workers {
		for _, b := range bodies(w) {
			v, err := checkWith(nil, b, blog)
			want[w], werr[w] = append(want[w], v), append(werr[w], err)
		}
	}
	cache := &preparedCache{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				for i, b := range bodies(w) {
					got, err := checkWith(cache, b, blog)
					sameVerdict(t, fmt.Sprintf("worker %d round %d request %d", w, r, i), got, err, want[w][i], werr[w][i])
				}
			}
		})
	}
	wg.Wait()
	if n, _ := cache.len(); n != 5 { // one text for each of bodies
		t.Errorf("kept %d documents, want 5", n)
	}
}

// A flood of distinct texts leaves the cache within its bounds, and a
// text over gqlCacheMaxQuery is checked without being kept.
func TestPreparedCacheBounded(t *testing.T) {
	cache := &preparedCache{}
	for i := 0; i < 3*gqlCacheMaxEntries; i++ {
		q := fmt.Sprintf(`query Q%d { repository(owner: "acme", name: "blog") { id } }`, i)
		if _, err := checkWith(cache, gqlBody(t, "", q, nil), blog); err != nil {
			t.Fatal(err)
		}
		if n, size := cache.len(); n > gqlCacheMaxEntries || size > gqlCacheMaxBytes {
			t.Fatalf("after %d texts: %d entries, %d bytes", i+1, n, size)
		}
	}
	if n, _ := cache.len(); n != gqlCacheMaxEntries {
		t.Errorf("%d entries kept of %d", n, gqlCacheMaxEntries)
	}

	cache = &preparedCache{}
	pad := aliasedIDs((gqlCacheMaxQuery - 200) / 12)
	for i := 0; i < 2*gqlCacheMaxBytes/gqlCacheMaxQuery; i++ {
		q := fmt.Sprintf(`query Q%d { repository(owner: "acme", name: "blog") { %s } }`, i, pad)
		if _, err := checkWith(cache, gqlBody(t, "", q, nil), blog); err != nil {
			t.Fatal(err)
		}
		if _, size := cache.len(); size > gqlCacheMaxBytes {
			t.Fatalf("after %d large texts: %d bytes", i+1, size)
		}
	}
	if _, size := cache.len(); size < gqlCacheMaxBytes/2 {
		t.Errorf("large texts under the bound were not kept: %d bytes", size)
	}

	cache = &preparedCache{}
	huge := `query { repository(owner: "acme", name: "blog") { ` + aliasedIDs(gqlCacheMaxQuery/8) + ` } }`
	if _, err := checkWith(cache, gqlBody(t, "", huge, nil), blog); err != nil {
		t.Fatal(err)
	}
	if n, _ := cache.len(); n != 0 {
		t.Errorf("a text over %d bytes was kept", gqlCacheMaxQuery)
	}
}

// aliasedIDs is n selections of id, each under its own name.
func aliasedIDs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a%d: id ", i)
	}
	return b.String()
}
