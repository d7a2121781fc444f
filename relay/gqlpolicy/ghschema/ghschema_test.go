package ghschema

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
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
	if s.Query.Fields.ForName("node") != nil || s.Types["Issue"] != nil {
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

// Every document the stock dashboard sends that GitHub accepts, and every
// one the trimmer was given, validates against the cut schema; the one
// GitHub refuses (unused fragments) does not.
func TestDocumentsValidate(t *testing.T) {
	docs := dashboardFile(t, "dashboard-queries.json")
	keep, err := os.ReadFile("trim/keep.graphql")
	if err != nil {
		t.Fatal(err)
	}
	docs["keep.graphql"] = string(keep)
	for name, text := range docs {
		if why := validateText(text); why != "" {
			t.Errorf("%s: %s", name, why)
		}
	}
	refused := dashboardFile(t, "dashboard-refused.json")
	if len(refused) == 0 {
		t.Fatal("no refused documents")
	}
	for name, text := range refused {
		if why := validateText(text); !strings.Contains(why, "is never used") {
			t.Errorf("%s validates, or for another reason: %q", name, why)
		}
	}
}

// dashboardFile reads one of the fake GitHub's files of the dashboard's
// documents, without its note.
func dashboardFile(t *testing.T, name string) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../../internal/fakegithub/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	if err := json.Unmarshal(b, &docs); err != nil {
		t.Fatal(err)
	}
	delete(docs, "_about")
	return docs
}
