package native

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
)

// stockConfig is the fake GitHub's outstatic/config.json.
const stockConfig = "{\n  \"publicMediaPath\": \"images/\",\n  \"repoMediaPath\": \"public/images/\"\n}\n"

// dashboardDocs are the documents the stock dashboard sends, byte for byte.
func dashboardDocs(testing.TB) map[string]string { return fakegithub.DashboardDocuments() }

// gqlBody is a GraphQL request as the dashboard sends it.
func gqlBody(t testing.TB, op, query string, vars map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": query, "variables": vars, "operationName": op})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// commitInput is a createCommitOnBranch input adding files (path →
// content) on main at head.
func commitInput(head string, files ...[2]string) map[string]any {
	var adds []any
	for _, f := range files {
		adds = append(adds, map[string]any{"path": f[0], "contents": base64.StdEncoding.EncodeToString([]byte(f[1]))})
	}
	return map[string]any{"input": map[string]any{
		"branch":          map[string]any{"repositoryNameWithOwner": "acme/blog", "branchName": "main"},
		"message":         map[string]any{"headline": "Save"},
		"fileChanges":     map[string]any{"additions": adds},
		"expectedHeadOid": head,
	}}
}
