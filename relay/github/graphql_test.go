package github

import (
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/caddy-outstatic/caddy-outstatic/relay/gqlpolicy/ghschema"
)

// The relay's own documents validate against GitHub's schema.
func TestOwnDocumentsValidate(t *testing.T) {
	for name, doc := range map[string]string{"RepositoryID": RepositoryIDQuery, "RepositoryFile": RepositoryFileQuery} {
		q, err := parser.ParseQuery(&ast.Source{Input: doc})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if errs := validator.ValidateWithRules(ghschema.Schema(), q, nil); len(errs) > 0 {
			t.Errorf("%s: %v", name, errs)
		}
	}
}
