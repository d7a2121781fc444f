package native

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// parserEnv is a native relay with a logged-in dashboard session and a
// log to read.
type parserEnv struct {
	*nativeEnv
	access string
	logs   *observer.ObservedLogs
}

func newParserEnv(t *testing.T) *parserEnv {
	t.Helper()
	core, logs := observer.New(zapcore.InfoLevel)
	env := newNativeEnv(t, func(i int, c *NativeConfig) { c.Logger = zap.New(core) })
	token := tokenOf(t, env.login(t, 0))
	_, out, _ := env.call(t, 0, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": nativeCallback})
	return &parserEnv{nativeEnv: env, access: out["session"].(map[string]any)["access_token"].(string), logs: logs}
}

// parser posts a GraphQL body as the dashboard does.
func (e *parserEnv) parser(t *testing.T, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.urls[0]+"/github/parser", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.access)
	req.Header.Set("X-Project-Id", "blog")
	req.Header.Set("Origin", nativeSiteOrig)
	req.Header.Set("Content-Type", "application/json")
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestParserRefusesOtherOperations(t *testing.T) {
	env := newParserEnv(t)
	docs := dashboardDocs(t)
	for name, body := range map[string]string{
		"another repository": string(gqlBody(t, "GetRepoInfo", docs["GetRepoInfo"], map[string]any{"owner": "evil-secret-value", "name": "blog"})),
		"viewer":             `{"query":"query Mine { viewer { repositories(first: 100) { nodes { nameWithOwner } } } }"}`,
		"deleteRef":          `{"query":"mutation Drop { deleteRef(input: {refId: \"REF_evil-secret-value\"}) { clientMutationId } }"}`,
		"batch":              `[` + string(gqlBody(t, "GetRepoInfo", docs["GetRepoInfo"], map[string]any{"owner": "acme", "name": "blog"})) + `]`,
		"commit elsewhere": string(gqlBody(t, "createCommit", docs["createCommit"], map[string]any{"input": map[string]any{
			"branch": map[string]any{"repositoryNameWithOwner": "evil-secret-value/x", "branchName": "main"}}})),
	} {
		before := len(env.gh.Queries())
		env.logs.TakeAll()
		status, body := env.parser(t, body)
		if status != 403 || body != `{"error":"forbidden-operation"}` {
			t.Errorf("%s: %d %s", name, status, body)
		}
		if strings.Contains(body, "credentials") {
			t.Errorf("%s: the dashboard would refresh on %s", name, body)
		}
		if n := len(env.gh.Queries()); n != before {
			t.Errorf("%s reached GitHub", name)
		}
		entries := env.logs.FilterMessage("graphql operation refused").All()
		if len(entries) != 1 || entries[0].ContextMap()["reason"] == "" {
			t.Errorf("%s: logged %v", name, entries)
			continue
		}
		logged, _ := json.Marshal(entries[0].ContextMap())
		for _, secret := range []string{"evil-secret-value", env.access, "gho_"} {
			if strings.Contains(string(logged), secret) {
				t.Errorf("%s: the log holds %q: %s", name, secret, logged)
			}
		}
	}
	if op := env.logs.All(); len(op) == 0 {
		t.Fatal("nothing logged")
	}
}

// The dashboard's Create Branch and save, through the relay, as a relay
// session sends them.
func TestParserDashboardMutations(t *testing.T) {
	env := newParserEnv(t)
	docs := dashboardDocs(t)
	status, body := env.parser(t, string(gqlBody(t, "GetRepoInfo", docs["GetRepoInfo"], map[string]any{"owner": "acme", "name": "blog"})))
	var info struct {
		Data struct {
			Repository struct {
				ID               string
				DefaultBranchRef struct {
					Name   string
					Target struct{ Oid string }
				}
			}
		}
	}
	if status != 200 || json.Unmarshal([]byte(body), &info) != nil || info.Data.Repository.ID == "" {
		t.Fatalf("GetRepoInfo: %d %s", status, body)
	}
	repoID, head := info.Data.Repository.ID, info.Data.Repository.DefaultBranchRef.Target.Oid

	// another repository's ID is refused before createRef reaches GitHub
	before := len(env.gh.Queries())
	status, body = env.parser(t, string(gqlBody(t, "CreateBranch", docs["CreateBranch"], map[string]any{
		"repositoryId": "R_other", "branchName": "refs/heads/draft", "oid": head, "owner": "acme", "name": "blog"})))
	if status != 403 || body != `{"error":"forbidden-operation"}` {
		t.Fatalf("CreateBranch elsewhere: %d %s", status, body)
	}
	for _, q := range env.gh.Queries()[before:] {
		if strings.Contains(q.Query, "createRef") {
			t.Fatal("createRef on another repository reached GitHub")
		}
	}
	if env.gh.Head("draft") != "" {
		t.Fatal("branch made")
	}

	status, body = env.parser(t, string(gqlBody(t, "CreateBranch", docs["CreateBranch"], map[string]any{
		"repositoryId": repoID, "branchName": "refs/heads/draft", "oid": head, "owner": "acme", "name": "blog"})))
	if status != 200 || strings.Contains(body, `"errors"`) || env.gh.Head("draft") != head {
		t.Fatalf("CreateBranch: %d %s", status, body)
	}

	status, body = env.parser(t, string(gqlBody(t, "createCommit", docs["createCommit"], map[string]any{"input": map[string]any{
		"branch":          map[string]any{"repositoryNameWithOwner": "acme/blog", "branchName": "draft"},
		"message":         map[string]any{"headline": "Add a post"},
		"fileChanges":     map[string]any{"additions": []any{map[string]any{"path": "outstatic/content/posts/new.md", "contents": base64.StdEncoding.EncodeToString([]byte("# New"))}}},
		"expectedHeadOid": head}})))
	if status != 200 || strings.Contains(body, `"errors"`) {
		t.Fatalf("createCommit: %d %s", status, body)
	}
	if text, ok := env.gh.File("draft", "outstatic/content/posts/new.md"); !ok || text != "# New" {
		t.Fatalf("the commit did not land: %q %v", text, ok)
	}
}
