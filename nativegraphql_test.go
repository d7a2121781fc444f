package outstatic

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestNativeParserJudgesCoercedInput: through Caddy, an author's session
// that spells a commit's additions or deletions as one object instead of
// a list (GitHub's coercion makes it a list of one) cannot write the
// settings or the collection list: the parser refuses it with the
// policy's answer, and nothing of it reaches GitHub. The same author's
// post saved that way goes through, as a list.
func TestNativeParserJudgesCoercedInput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds caddy")
	}
	e := newAccessEnv(t)
	e.member(true, "add", "grace@example.com", "--role", "author", "--project", "blog")
	access, _ := e.emailSession("grace@example.com")
	if status, body := e.read(access); status != 200 {
		t.Fatalf("a read: %d %s", status, body) // the App's token, minted once
	}
	config, _ := e.gh.File("main", "outstatic/config.json")
	collections, _ := e.gh.File("main", "outstatic/content/collections.json")
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	input := func(fileChanges any) map[string]any {
		return map[string]any{
			"branch":          map[string]string{"repositoryNameWithOwner": "acme/blog", "branchName": "main"},
			"message":         map[string]string{"headline": "Save"},
			"fileChanges":     fileChanges,
			"expectedHeadOid": e.gh.Head("main"),
		}
	}
	asVariable := func(fileChanges any) map[string]any {
		return map[string]any{"query": e.docs["createCommit"], "operationName": "createCommit",
			"variables": map[string]any{"input": input(fileChanges)}}
	}
	inline := func(fileChanges string) map[string]any {
		return map[string]any{"query": `mutation Save($head: GitObjectID!) { createCommitOnBranch(input: {branch: {repositoryNameWithOwner: "acme/blog", branchName: "main"}, ` +
			`message: {headline: "Save"}, expectedHeadOid: $head, fileChanges: ` + fileChanges + `}) { commit { oid } } }`,
			"variables": map[string]any{"head": e.gh.Head("main")}}
	}
	for name, body := range map[string]map[string]any{
		"one addition":        asVariable(map[string]any{"additions": map[string]string{"path": "outstatic/config.json", "contents": b64(`{"x":1}`)}}),
		"one deletion":        asVariable(map[string]any{"deletions": map[string]string{"path": "outstatic/content/collections.json"}}),
		"inline addition":     inline(`{additions: {path: "outstatic/config.json", contents: "` + b64(`{"x":1}`) + `"}}`),
		"inline deletion":     inline(`{deletions: {path: "outstatic/content/collections.json"}}`),
		"an unknown field":    asVariable(map[string]any{"additions": []any{map[string]string{"path": "outstatic/content/posts/x.md", "contents": b64("x"), "mode": "100755"}}}),
		"a number for a path": asVariable(map[string]any{"additions": map[string]any{"path": 7, "contents": b64("x")}}),
	} {
		before := len(e.gh.Requests())
		status, answer := e.call("POST", "/github/parser", access, body)
		if status != 403 || strings.TrimSpace(answer) != `{"error":"forbidden-operation"}` {
			t.Errorf("%s: %d %s", name, status, answer)
		}
		if n := len(e.gh.Requests()); n != before {
			t.Errorf("%s: %d requests reached GitHub", name, n-before)
		}
	}
	if now, _ := e.gh.File("main", "outstatic/config.json"); now != config {
		t.Fatalf("config.json changed: %q", now)
	}
	if now, ok := e.gh.File("main", "outstatic/content/collections.json"); !ok || now != collections {
		t.Fatalf("collections.json changed or deleted: %q %v", now, ok)
	}
	status, answer := e.call("POST", "/github/parser", access,
		asVariable(map[string]any{"additions": map[string]string{"path": "outstatic/content/posts/lone.md", "contents": b64("# Lone\n")}}))
	if status != 200 || !strings.Contains(answer, `"oid"`) {
		t.Fatalf("an author's post as one object: %d %s", status, answer)
	}
	if text, ok := e.gh.File("main", "outstatic/content/posts/lone.md"); !ok || text != "# Lone\n" {
		t.Fatalf("the post did not land: %q %v", text, ok)
	}
}
