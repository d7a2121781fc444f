package gqlpolicy

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAdaptCreateBranch(t *testing.T) {
	const q = `mutation CreateBranch($repositoryId: ID!, $name: String!, $oid: GitObjectID!) { createRef(input: {repositoryId: $repositoryId, name: $name, oid: $oid}) { ref { name } } }`
	in, _ := json.Marshal(map[string]any{"query": q, "variables": map[string]any{
		"repositoryId": "R_1", "branchName": "refs/heads/draft", "oid": "abc", "owner": "acme", "name": "blog"}})
	var out struct {
		Variables map[string]any `json:"variables"`
	}
	if err := json.Unmarshal(adaptCreateBranch(in), &out); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"repositoryId": "R_1", "name": "refs/heads/draft", "oid": "abc"}
	if len(out.Variables) != len(want) || out.Variables["name"] != want["name"] || out.Variables["repositoryId"] != "R_1" {
		t.Fatalf("variables %v, want %v", out.Variables, want)
	}
	// a GitHub-session CreateBranch and other operations pass untouched
	for _, body := range []string{
		`{"query":"` + strings.ReplaceAll(q, `"`, `\"`) + `","variables":{"repositoryId":"R_1","name":"refs/heads/x","oid":"abc"}}`,
		`{"query":"query GetRepoInfo { repository(owner: \"a\", name: \"b\") { id } }","variables":{"branchName":"refs/heads/x"}}`,
		`not json`,
	} {
		if got := string(adaptCreateBranch([]byte(body))); got != body {
			t.Errorf("changed %s into %s", body, got)
		}
	}
}
