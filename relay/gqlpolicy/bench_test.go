package gqlpolicy

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkCheckGraphQL is the parser's policy on one request: the
// dashboard's commonest read and its save, with their texts kept
// (gqlcache.go) as they are after the first request, and seen for the
// first time ("first="); and the largest shapes the policy's bounds let
// through (a flat selection of 30,000 fields; 9 copies of one field, each
// with 3,000 fields below, which validation compares pairwise), too large
// to be kept. Compare the bounded shapes with the dashboard's.
func BenchmarkCheckGraphQL(b *testing.B) {
	docs := dashboardDocs(b)
	head := `query { repository(owner: "acme", name: "blog") { `
	var flat, sub, repeats strings.Builder
	for i := 0; i < 30000; i++ {
		fmt.Fprintf(&flat, "a%d: id ", i)
	}
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&sub, "a%d: name ", i)
	}
	for i := 0; i <= gqlMaxRepeats; i++ {
		repeats.WriteString(`x: ref(qualifiedName: "main") { ` + sub.String() + ` } `)
	}
	repoInfo := gqlBody(b, "GetRepoInfo", docs["GetRepoInfo"], dashboardVars["GetRepoInfo"])
	commit := gqlBody(b, "createCommit", docs["createCommit"], dashboardVars["createCommit"])
	for _, bc := range []struct {
		name  string
		body  []byte
		first bool // every request sees an empty cache
	}{
		{"dashboard=GetRepoInfo", repoInfo, false},
		{"dashboard=createCommit", commit, false},
		{"first=GetRepoInfo", repoInfo, true},
		{"first=createCommit", commit, true},
		{"bounded=flat", gqlBody(b, "", head+flat.String()+"} }", nil), false},
		{"bounded=repeats", gqlBody(b, "", head+repeats.String()+"} }", nil), false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				cache := documents
				if bc.first {
					cache = &preparedCache{}
				}
				if _, err := checkWith(cache, bc.body, blog); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
