package fakegithub

import (
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/caddy-outstatic/caddy-outstatic/relay/gqlpolicy/ghschema/jsonvalue"
)

// GitHub's own rules, which its schema does not say: a mutation needs a
// token that may write to the repository, and every connection is asked
// for with first or last, at most 100. Both are checked before anything
// runs, so a request that breaks them gets errors and no data.
// (Repository not found, STALE_DATA and the other answers of single fields
// are in the resolvers.)

// pageLimit is the most records a connection gives at once.
const pageLimit = 100

// mutationScopes refuses a mutation when the token cannot write to the
// repository, with GitHub's INSUFFICIENT_SCOPES error.
func (e *execution) mutationScopes() *gqlError {
	need := []string{"repo"}
	if !e.g.Private {
		need = []string{"public_repo", "repo"}
	}
	if e.tok.hasScope(need...) {
		return nil
	}
	field := ""
	for _, s := range e.op.SelectionSet {
		if f, ok := s.(*ast.Field); ok {
			field = f.Name
			break
		}
	}
	quote := func(xs []string) string {
		q := make([]string, len(xs))
		for i, x := range xs {
			q[i] = "'" + x + "'"
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return &gqlError{Type: "INSUFFICIENT_SCOPES", Locations: []pos{at(e.op.Position)}, Message: fmt.Sprintf(
		"Your token has not been granted the required scopes to execute this query. The '%s' field requires one of the following scopes: %s, but your token has only been granted the: %s scopes. Please modify your token's scopes at: https://github.com/settings/tokens.",
		field, quote(need), quote(e.tok.Scopes))}
}

// paginationErrors checks every connection the operation asks for (a
// field whose type is a ...Connection taking first and last). The
// messages are those GitHub answers.
func (e *execution) paginationErrors() []gqlError {
	var errs []gqlError
	var walk func(sels ast.SelectionSet, path []any, depth int)
	walk = func(sels ast.SelectionSet, path []any, depth int) {
		if depth > 64 {
			return
		}
		for _, sel := range sels {
			switch s := sel.(type) {
			case *ast.InlineFragment:
				walk(s.SelectionSet, path, depth+1)
			case *ast.FragmentSpread:
				if f := e.doc.Fragments.ForName(s.Name); f != nil {
					walk(f.SelectionSet, path, depth+1)
				}
			case *ast.Field:
				here := append(append([]any(nil), path...), s.Alias)
				if ge := e.pagination(s); ge != nil {
					ge.Path, ge.Locations = here, []pos{at(s.Position)}
					errs = append(errs, *ge)
				}
				walk(s.SelectionSet, here, depth+1)
			}
		}
	}
	walk(e.op.SelectionSet, nil, 0)
	return errs
}

// pagination checks one field's first and last.
func (e *execution) pagination(f *ast.Field) *gqlError {
	d := f.Definition
	if d == nil || !strings.HasSuffix(d.Type.Name(), "Connection") || d.Arguments.ForName("first") == nil || d.Arguments.ForName("last") == nil {
		return nil
	}
	args := e.arguments(d, f.Arguments)
	first, hasFirst := jsonvalue.Integer(args["first"])
	last, hasLast := jsonvalue.Integer(args["last"])
	switch {
	case !hasFirst && !hasLast:
		return &gqlError{Type: "MISSING_PAGINATION_BOUNDARIES",
			Message: fmt.Sprintf("You must provide a `first` or `last` value to properly paginate the `%s` connection.", f.Name)}
	case hasFirst && first > pageLimit:
		return excessive(f.Name, "first", first)
	case hasLast && last > pageLimit:
		return excessive(f.Name, "last", last)
	}
	return nil
}

func excessive(connection, arg string, n int64) *gqlError {
	return &gqlError{Type: "EXCESSIVE_PAGINATION", Message: fmt.Sprintf(
		"Requesting %d records on the `%s` connection exceeds the `%s` limit of %d records.", n, connection, arg, pageLimit)}
}
