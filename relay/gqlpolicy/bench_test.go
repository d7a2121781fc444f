package gqlpolicy

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkCheckGraphQL is the parser's policy on one request: the
// dashboard's commonest read and its save, and the largest shapes the
// policy's bounds let through (a flat selection of 30,000 fields; 9
// copies of one field, each with 3,000 fields below, which validation
// compares pairwise). Compare the bounded shapes with the dashboard's.
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
	for _, bc := range []struct {
		name string
		body []byte
	}{
		{"dashboard=GetRepoInfo", gqlBody(b, "GetRepoInfo", docs["GetRepoInfo"], dashboardVars["GetRepoInfo"])},
		{"dashboard=createCommit", gqlBody(b, "createCommit", docs["createCommit"], dashboardVars["createCommit"])},
		{"bounded=flat", gqlBody(b, "", head+flat.String()+"} }", nil)},
		{"bounded=repeats", gqlBody(b, "", head+repeats.String()+"} }", nil)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Check(bc.body, blog); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
