package fakegithub

import (
	_ "embed"
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
