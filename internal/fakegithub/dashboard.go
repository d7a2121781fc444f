package fakegithub

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
)

// The GraphQL documents the stock dashboard (outstatic 2.2.4) sends to
// GitHub, extracted from its npm package by ./dashdocs
// (testdata/SOURCE.md says how), for tests of whatever receives them.

//go:embed testdata/dashboard-queries.json
var dashboardAccepted []byte

//go:embed testdata/dashboard-refused.json
var dashboardRefused []byte

// DashboardDocuments returns the documents GitHub's schema accepts, by
// operation name; GetMultipleFileInformation, built at run time, by
// "GetMultipleFileInformation" (one collection, one singleton) and
// "GetMultipleFileInformation/<shape>" for its other shapes.
func DashboardDocuments() map[string]string { return documents(dashboardAccepted) }

// DashboardRefused returns the documents the dashboard sends that GitHub's
// schema refuses: "GetMultipleFileInformation/singletons" (a repository
// with singletons and no collection leaves two fragments unused).
func DashboardRefused() map[string]string { return documents(dashboardRefused) }

// documents decodes a name → document file, without its "_about" note.
func documents(b []byte) map[string]string {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		panic("fakegithub: " + err.Error())
	}
	delete(m, "_about")
	return m
}

// DashboardRequest is a GraphQL request as the dashboard sends it, with
// operation op, document query and variables vars.
func DashboardRequest(op, query string, vars map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"query": query, "variables": vars, "operationName": op})
	if err != nil {
		panic("fakegithub: " + err.Error())
	}
	return b
}

// CommitInput is the variables of a dashboard save on acme/blog's main at
// head: a createCommitOnBranch input adding files (path, content).
func CommitInput(head string, files ...[2]string) map[string]any {
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
