package gqlpolicy

import (
	"fmt"
	"slices"

	"github.com/vektah/gqlparser/v2/ast"
)

// The walk of a parsed document for Check: its one operation's
// header, a bound on its shape before it is validated, and its selections
// against gqlServed with every argument coerced.

// Limits on what one request may ask, far above the dashboard's needs.
// Validation compares pairwise, and deeply, the fields that share a
// response name in one selection set (fragments merged in) and the
// fragments spread into it: gqlMaxRepeats and gqlMaxFragments keep that
// work small, where the dashboard repeats no name and defines three
// fragments.
const (
	gqlMaxTokens     = 100000
	gqlMaxSelections = 50000
	gqlMaxDepth      = 64
	gqlMaxRepeats    = 8
	gqlMaxFragments  = 64
)

// operation picks the one operation and checks its header.
func operation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, error) {
	if len(doc.Operations) != 1 {
		return nil, refuse("%d operations in one document", len(doc.Operations))
	}
	op := doc.Operations[0]
	switch {
	case name != "" && name != op.Name:
		return op, refuse("operationName names another operation")
	case op.Operation != ast.Query && op.Operation != ast.Mutation:
		return op, refuse("%s operations are not served", op.Operation)
	case len(op.Directives) > 0:
		return op, refuse("directives are not served")
	case op.Description != "":
		return op, refuse("operation descriptions are not served")
	}
	for _, d := range op.VariableDefinitions {
		if d.DefaultValue != nil || len(d.Directives) > 0 {
			return op, refuse("variable %s has a default or a directive", quoteName(d.Variable))
		}
	}
	// One root field, not renamed: the dashboard asks one thing at a time.
	if len(op.SelectionSet) != 1 {
		return op, refuse("%d root selections", len(op.SelectionSet))
	}
	if f, ok := op.SelectionSet[0].(*ast.Field); !ok || f.Alias != f.Name || f.Name == "__typename" {
		return op, refuse("the root selection is not one plain field")
	}
	return op, nil
}

// shapeBound measures a document as validation will walk it: each
// operation and each fragment, fragments spread in place.
type shapeBound struct {
	doc       *ast.QueryDocument
	count     int             // selections, fragments expanded
	repeats   int             // fields repeating a response name in their set
	spreading map[string]bool // fragments on the current path
}

// boundShape refuses a document too large, too deep, with too many
// repeated names or fragments, or whose fragments spread themselves.
func boundShape(doc *ast.QueryDocument) error {
	if len(doc.Fragments) > gqlMaxFragments {
		return refuse("%d fragments in one document", len(doc.Fragments))
	}
	b := shapeBound{doc: doc, spreading: map[string]bool{}}
	for _, op := range doc.Operations {
		if err := b.set(op.SelectionSet, 0, map[string]bool{}); err != nil {
			return err
		}
	}
	for _, f := range doc.Fragments {
		if err := b.set(f.SelectionSet, 0, map[string]bool{}); err != nil {
			return err
		}
	}
	return nil
}

// set walks one selection set; names are the response names seen in it,
// which inline fragments and spreads share.
func (b *shapeBound) set(set ast.SelectionSet, depth int, names map[string]bool) error {
	if depth > gqlMaxDepth {
		return refuse("selections nested too deep")
	}
	for _, sel := range set {
		if b.count++; b.count > gqlMaxSelections {
			return refuse("too many selections")
		}
		var err error
		switch s := sel.(type) {
		case *ast.Field:
			if names[s.Alias] {
				if b.repeats++; b.repeats > gqlMaxRepeats {
					return refuse("too many fields repeat a name")
				}
			}
			names[s.Alias] = true
			err = b.set(s.SelectionSet, depth+1, map[string]bool{})
		case *ast.InlineFragment:
			err = b.set(s.SelectionSet, depth+1, names)
		case *ast.FragmentSpread:
			f := b.doc.Fragments.ForName(s.Name)
			if f == nil {
				continue // validation refuses it
			}
			if b.spreading[s.Name] {
				return refuse("fragment %s spreads itself", quoteName(s.Name))
			}
			b.spreading[s.Name] = true
			err = b.set(f.SelectionSet, depth+1, names)
			delete(b.spreading, s.Name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// gqlChecker walks the selections of one validated operation.
type gqlChecker struct {
	repo         Repo
	lits         literals
	repositoryID string
	mutation     string         // the root mutation field, for Authorize
	commit       map[string]any // createCommitOnBranch's input, coerced
	commitVar    bool           // ... given as a variable
}

// selections checks a selection set, fragments expanded; boundShape has
// bounded its depth and size.
func (c *gqlChecker) selections(set ast.SelectionSet) error {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if err := c.field(s); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if err := c.fragment(s.TypeCondition, s.Directives, s.SelectionSet); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			f := s.Definition
			switch {
			case len(s.Directives) > 0:
				return refuse("directives are not served")
			case f == nil:
				return refuse("fragment %s is not defined", quoteName(s.Name))
			case len(f.VariableDefinition) > 0:
				return refuse("fragment %s has variables", quoteName(s.Name))
			}
			if err := c.fragment(f.TypeCondition, f.Directives, f.SelectionSet); err != nil {
				return err
			}
		default:
			return refuse("unknown selection")
		}
	}
	return nil
}

// fragment checks a fragment's selections. Validation has checked that it
// may apply where it is; it must also be on a type gqlServed names.
func (c *gqlChecker) fragment(cond string, directives ast.DirectiveList, set ast.SelectionSet) error {
	switch {
	case len(directives) > 0:
		return refuse("directives are not served")
	case cond == "":
		return refuse("a fragment without a type condition")
	case gqlServed[cond] == nil:
		return refuse("fragment on %s is not served", quoteName(cond))
	}
	return c.selections(set)
}

// field checks one field against gqlServed, its arguments coerced.
func (c *gqlChecker) field(f *ast.Field) error {
	if len(f.Directives) > 0 {
		return refuse("directives are not served")
	}
	if f.ObjectDefinition == nil || f.Definition == nil {
		return refuse("field %s was not validated", quoteName(f.Name))
	}
	typ := f.ObjectDefinition.Name
	if f.Name == "__typename" {
		return nil // validation let it through: no arguments, no selections
	}
	spec, ok := gqlServed[typ][f.Name]
	if !ok {
		return refuse("field %s on %s is not served", quoteName(f.Name), typ)
	}
	if typ == "Mutation" {
		c.mutation = f.Name
	}
	for _, a := range f.Arguments {
		if _, ok := spec.args[a.Name]; !ok {
			return refuse("argument %s of %s is not served", quoteName(a.Name), f.Name)
		}
	}
	args, err := c.arguments(f)
	if err != nil {
		return err
	}
	for _, name := range spec.required {
		if args[name] == nil {
			return refuse("%s without %s", f.Name, name)
		}
	}
	names := make([]string, 0, len(spec.args))
	for name := range spec.args {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		val, given := args[name]
		if spec.args[name] == nil || !given {
			continue
		}
		id, err := spec.args[name](val, c.repo)
		if err != nil {
			return fmt.Errorf("%w (%s.%s)", err, f.Name, name)
		}
		if id != "" {
			if c.repositoryID != "" && c.repositoryID != id {
				return refuse("two repository IDs")
			}
			c.repositoryID = id
		}
	}
	if f.Name == "createCommitOnBranch" {
		c.commit, _ = args["input"].(map[string]any)
		c.commitVar = f.Arguments.ForName("input").Value.Kind == ast.Variable
	}
	return c.selections(f.SelectionSet)
}

// arguments are f's arguments as GitHub coerces them: each given one
// coerced to its declared type, the declared default for one left out
// (or given as a variable that was not given), none for the rest.
func (c *gqlChecker) arguments(f *ast.Field) (map[string]any, error) {
	out := map[string]any{}
	for _, d := range f.Definition.Arguments {
		if a := f.Arguments.ForName(d.Name); a != nil {
			x, given, err := c.lits.coerce(d.Type, a.Value, 0)
			if err != nil {
				return nil, fmt.Errorf("%w (%s.%s)", err, f.Name, d.Name)
			}
			if given {
				out[d.Name] = x
				continue
			}
		}
		switch {
		case d.DefaultValue != nil:
			x, _, err := literals{schema: c.lits.schema}.coerce(d.Type, d.DefaultValue, 0)
			if err != nil {
				return nil, fmt.Errorf("%w (default of %s.%s)", err, f.Name, d.Name)
			}
			out[d.Name] = x
		case d.Type.NonNull:
			return nil, refuse("%s without %s", f.Name, d.Name)
		}
	}
	return out, nil
}
