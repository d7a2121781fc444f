package main

import (
	"os"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// The committed schema is exactly what the trimmer makes of it with the
// same documents: nothing was added by hand, nothing is missing for them.
func TestCommittedSchemaIsAFixedPoint(t *testing.T) {
	committed, err := os.ReadFile("../schema.graphql")
	if err != nil {
		t.Fatal(err)
	}
	body, ok := strings.CutPrefix(string(committed), header)
	if !ok {
		t.Fatal("the committed schema does not start with the trimmer's header")
	}
	var docs []document
	for _, p := range []string{"../../../../internal/fakegithub/testdata/dashboard-queries.json", "keep.graphql"} {
		d, err := readDocuments(p)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d...)
	}
	again, dropped, err := trimSchema(body, docs)
	if err != nil {
		t.Fatal(err)
	}
	if again != body || len(dropped) != 0 {
		t.Fatalf("trimming the committed schema changes it (dropped %v); run the command in SOURCE.md", dropped)
	}
}

const sample = `
interface Node { id: ID! }
interface Named { name: String! }
type Query {
  thing(id: ID!, filter: Filter, order: Order = ASC): Thing
  other: Other
}
type Thing implements Node & Named {
  id: ID!
  name: String!
  name: String!
  size: Int
  owner: Owner
}
type Other implements Named { name: String! extra: Boolean }
type Owner implements Node { id: ID! login: String! }
input Filter { tags: [String!] = [], nested: Inner, when: Stamp }
input Inner { deep: Order! }
enum Order { ASC DESC }
enum Unused { A }
scalar Stamp
scalar Lonely
`

// The rules of the cut on a schema small enough to read: selected fields
// with their arguments, input types and enums whole, every type of a kept
// interface with its fields, one field for a type nothing selects, and the
// repeated declaration dropped.
func TestTrimRules(t *testing.T) {
	out, dropped, err := trimSchema(sample, []document{{"q", `query { thing(id: 1) { ... on Named { name } } }`}})
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 1 || dropped[0] != "Thing.name" {
		t.Errorf("dropped %v", dropped)
	}
	s, err := gqlparser.LoadSchema(&ast.Source{Input: out})
	if err != nil {
		t.Fatalf("the cut does not load: %v\n%s", err, out)
	}
	has := func(typ, field string) bool {
		d := s.Types[typ]
		return d != nil && (field == "" || d.Fields.ForName(field) != nil)
	}
	for _, want := range [][2]string{{"Query", "thing"}, {"Thing", "name"}, {"Named", "name"}, {"Other", "name"},
		{"Filter", "tags"}, {"Filter", "nested"}, {"Filter", "when"}, {"Inner", "deep"}, {"Order", ""}, {"Stamp", ""}} {
		if !has(want[0], want[1]) {
			t.Errorf("%s.%s is not kept:\n%s", want[0], want[1], out)
		}
	}
	for _, not := range [][2]string{{"Query", "other"}, {"Thing", "size"}, {"Thing", "owner"}, {"Other", "extra"},
		{"Owner", ""}, {"Node", ""}, {"Unused", ""}, {"Lonely", ""}} {
		if has(not[0], not[1]) {
			t.Errorf("%s.%s is kept:\n%s", not[0], not[1], out)
		}
	}
	if len(s.Types["Order"].EnumValues) != 2 || len(s.Types["Thing"].Interfaces) != 1 {
		t.Errorf("enum values or interfaces:\n%s", out)
	}
	if a := s.Query.Fields.ForName("thing").Arguments.ForName("order"); a == nil || a.DefaultValue == nil {
		t.Errorf("an argument or its default is lost:\n%s", out)
	}
}

// A document GitHub's schema refuses is an error, not a silent cut, and so
// is a repeated declaration that differs.
func TestTrimRefuses(t *testing.T) {
	if _, _, err := trimSchema(sample, []document{{"q", `query { thing(id: 1) { nope } }`}}); err == nil {
		t.Error("a document that does not validate was accepted")
	}
	if _, _, err := trimSchema(sample, []document{{"q", `query { thing { id } }`}}); err == nil {
		t.Error("a document without a required argument was accepted")
	}
	differing := strings.Replace(sample, "  name: String!\n  size", "  name: String\n  size", 1)
	if _, _, err := trimSchema(differing, []document{{"q", `query { other { name } }`}}); err == nil {
		t.Error("a repeated declaration that differs was accepted")
	}
}
