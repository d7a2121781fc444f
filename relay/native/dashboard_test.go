package native

import (
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
)

// stockConfig is the fake GitHub's outstatic/config.json.
const stockConfig = "{\n  \"publicMediaPath\": \"images/\",\n  \"repoMediaPath\": \"public/images/\"\n}\n"

// dashboardDocs are the documents the stock dashboard sends, byte for byte.
func dashboardDocs(testing.TB) map[string]string { return fakegithub.DashboardDocuments() }

// gqlBody is a GraphQL request as the dashboard sends it.
func gqlBody(_ testing.TB, op, query string, vars map[string]any) []byte {
	return fakegithub.DashboardRequest(op, query, vars)
}
