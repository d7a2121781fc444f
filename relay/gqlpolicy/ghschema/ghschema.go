// Package ghschema is GitHub's public GraphQL schema, cut down to the part
// that the stock Outstatic dashboard and the relay use (schema.graphql,
// made by ./trim from the SDL GitHub publishes; SOURCE.md says which and
// how). It is data: the relay's GraphQL policy validates and coerces
// requests against it as GitHub would, and a test double of GitHub can
// execute on it. It imports nothing of this project.
package ghschema

import (
	_ "embed"
	"sync"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

//go:embed schema.graphql
var sdl string

var loaded = sync.OnceValue(func() *ast.Schema {
	return gqlparser.MustLoadSchema(&ast.Source{Name: "ghschema/schema.graphql", Input: sdl})
})

// Schema returns the cut schema, loaded once (with GraphQL's built-in
// types) and shared: callers must not change it.
func Schema() *ast.Schema { return loaded() }

// SDL returns the cut schema's text.
func SDL() string { return sdl }
