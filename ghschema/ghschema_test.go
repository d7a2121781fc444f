package ghschema

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// The schema loads, once, and keeps what the policy depends on as GitHub
// declares it.
func TestSchema(t *testing.T) {
	s := Schema()
	if s != Schema() {
		t.Fatal("loaded twice")
	}
	if s.Query.Fields.ForName("repository") == nil || s.Mutation.Fields.ForName("createCommitOnBranch") == nil ||
		s.Mutation.Fields.ForName("createRef") == nil {
		t.Fatal("a root field is missing")
	}
	if s.Query.Fields.ForName("viewer") != nil || s.Types["User"] != nil {
		t.Fatal("the cut keeps what nothing uses")
	}
	changes := s.Types["FileChanges"]
	if changes == nil || changes.Kind != ast.InputObject {
		t.Fatal("no FileChanges input")
	}
	for _, f := range []string{"additions", "deletions"} {
		if typ := changes.Fields.ForName(f).Type; typ.Elem == nil || typ.NonNull {
			t.Errorf("FileChanges.%s is %s, GitHub declares a nullable list", f, typ)
		}
	}
	if branch := s.Types["CommittableBranch"]; branch.Fields.ForName("id") == nil {
		t.Error("CommittableBranch lost a field: input types are kept whole")
	}
	var possible []string
	for _, d := range s.GetPossibleTypes(s.Types["GitObject"]) {
		possible = append(possible, d.Name)
	}
	if len(possible) != 4 {
		t.Errorf("GitObject can be %v; GitHub's Blob, Commit, Tag and Tree", possible)
	}
}

// Every document the stock dashboard sends, and every one the trimmer was
// given, validates against the cut schema.
func TestDocumentsValidate(t *testing.T) {
	b, err := os.ReadFile("../internal/fakegithub/testdata/dashboard-queries.json")
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	if err := json.Unmarshal(b, &docs); err != nil {
		t.Fatal(err)
	}
	delete(docs, "_about")
	keep, err := os.ReadFile("trim/keep.graphql")
	if err != nil {
		t.Fatal(err)
	}
	docs["keep.graphql"] = string(keep)
	for name, text := range docs {
		q, err := parser.ParseQuery(&ast.Source{Input: text})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if errs := validator.ValidateWithRules(Schema(), q, nil); len(errs) > 0 {
			t.Errorf("%s: %v", name, errs)
		}
	}
}
