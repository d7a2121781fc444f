package native

import (
	"encoding/json"
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"
)

// The walk of a parsed document against gqlSchema, for checkGraphQL.

// gqlChecker walks one document.
type gqlChecker struct {
	repo         gqlRepo
	doc          *ast.QueryDocument
	vars         map[string]any
	declared     ast.VariableDefinitionList
	used         map[string]bool // fragments reached
	spreading    map[string]bool // fragments on the current path
	count        int             // selections walked, fragments expanded
	repositoryID string
	mutation     string         // the root mutation field, for authorize
	commit       map[string]any // createCommitOnBranch's input
	commitVar    bool           // ... given as a variable
}

func rootType(o ast.Operation) string {
	if o == ast.Mutation {
		return "Mutation"
	}
	return "Query"
}

// operation picks the one operation and checks its header.
func (c *gqlChecker) operation(name string) (*ast.OperationDefinition, error) {
	if len(c.doc.Operations) != 1 {
		return nil, refuse("%d operations in one document", len(c.doc.Operations))
	}
	op := c.doc.Operations[0]
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
		if c.declared.ForName(d.Variable) != nil {
			return op, refuse("variable %s declared twice", quoteName(d.Variable))
		}
		c.declared = append(c.declared, d)
	}
	for i, f := range c.doc.Fragments {
		if c.doc.Fragments[:i].ForName(f.Name) != nil {
			return op, refuse("fragment %s defined twice", quoteName(f.Name))
		}
	}
	// One root field, not renamed: the dashboard asks one thing at a time.
	if len(op.SelectionSet) != 1 {
		return op, refuse("%d root selections", len(op.SelectionSet))
	}
	if f, ok := op.SelectionSet[0].(*ast.Field); !ok || f.Alias != f.Name {
		return op, refuse("the root selection is not one plain field")
	}
	return op, nil
}

// selections checks a selection set on a value of type typ.
func (c *gqlChecker) selections(set ast.SelectionSet, typ string, depth int, root bool) error {
	if depth > gqlMaxDepth {
		return refuse("selections nested too deep")
	}
	fields := gqlSchema[typ]
	if len(set) == 0 {
		return refuse("empty selection on %s", typ)
	}
	for _, sel := range set {
		if c.count++; c.count > gqlMaxSelections {
			return refuse("too many selections")
		}
		switch s := sel.(type) {
		case *ast.Field:
			if err := c.field(s, fields, typ, depth, root); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if len(s.Directives) > 0 {
				return refuse("directives are not served")
			}
			if !narrows(typ, s.TypeCondition) {
				return refuse("fragment on %s where %s is expected", quoteName(s.TypeCondition), typ)
			}
			if err := c.selections(s.SelectionSet, s.TypeCondition, depth+1, false); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			if len(s.Directives) > 0 {
				return refuse("directives are not served")
			}
			f := c.doc.Fragments.ForName(s.Name)
			switch {
			case f == nil:
				return refuse("fragment %s is not defined", quoteName(s.Name))
			case len(f.Directives) > 0 || len(f.VariableDefinition) > 0:
				return refuse("fragment %s has directives or variables", quoteName(s.Name))
			case !narrows(typ, f.TypeCondition):
				return refuse("fragment %s on %s where %s is expected", quoteName(s.Name), quoteName(f.TypeCondition), typ)
			case c.spreading[s.Name]:
				return refuse("fragment %s spreads itself", quoteName(s.Name))
			}
			if c.spreading == nil {
				c.spreading = map[string]bool{}
			}
			c.spreading[s.Name], c.used[s.Name] = true, true
			err := c.selections(f.SelectionSet, f.TypeCondition, depth+1, false)
			delete(c.spreading, s.Name)
			if err != nil {
				return err
			}
		default:
			return refuse("unknown selection")
		}
	}
	return nil
}

// narrows reports whether a fragment on cond may apply where typ is
// expected. A fragment without a type condition is refused.
func narrows(typ, cond string) bool {
	if cond == typ {
		return true
	}
	for _, t := range gqlNarrowing[typ] {
		if t == cond {
			return true
		}
	}
	return false
}

// field checks one field against its type's entry in gqlSchema.
func (c *gqlChecker) field(f *ast.Field, fields map[string]gqlField, typ string, depth int, root bool) error {
	if len(f.Directives) > 0 {
		return refuse("directives are not served")
	}
	spec, ok := fields[f.Name]
	if !ok {
		if f.Name == "__typename" && !root && len(f.Arguments) == 0 && len(f.SelectionSet) == 0 {
			return nil
		}
		return refuse("field %s on %s is not served", quoteName(f.Name), typ)
	}
	if root && typ == "Mutation" {
		c.mutation = f.Name
	}
	seen := map[string]bool{}
	for _, a := range f.Arguments {
		check, ok := spec.args[a.Name]
		switch {
		case !ok:
			return refuse("argument %s of %s is not served", quoteName(a.Name), f.Name)
		case seen[a.Name]:
			return refuse("argument %s of %s given twice", a.Name, f.Name)
		}
		seen[a.Name] = true
		val, err := c.resolve(a.Value, 0)
		if err != nil {
			return err
		}
		id, err := check(val, c.repo)
		if err != nil {
			return fmt.Errorf("%w (%s.%s)", err, f.Name, a.Name)
		}
		if f.Name == "createCommitOnBranch" && a.Name == "input" {
			c.commit, _ = val.(map[string]any)
			c.commitVar = a.Value.Kind == ast.Variable
		}
		if id != "" {
			if c.repositoryID != "" && c.repositoryID != id {
				return refuse("two repository IDs")
			}
			c.repositoryID = id
		}
	}
	for _, name := range spec.required {
		if !seen[name] {
			return refuse("%s without %s", f.Name, name)
		}
	}
	if spec.typ == "" {
		if len(f.SelectionSet) > 0 {
			return refuse("selection on scalar %s", f.Name)
		}
		return nil
	}
	return c.selections(f.SelectionSet, spec.typ, depth+1, false)
}

// resolve turns an argument's value into JSON-like Go values, variables
// substituted. An undeclared variable is refused; a declared one not
// given is null.
func (c *gqlChecker) resolve(v *ast.Value, depth int) (any, error) {
	if v == nil || depth > 32 {
		return nil, refuse("argument value nested too deep")
	}
	switch v.Kind {
	case ast.Variable:
		if c.declared.ForName(v.Raw) == nil {
			return nil, refuse("variable %s is not declared", quoteName(v.Raw))
		}
		return c.vars[v.Raw], nil
	case ast.IntValue, ast.FloatValue:
		return json.Number(v.Raw), nil
	case ast.StringValue, ast.BlockValue:
		return v.Raw, nil
	case ast.BooleanValue:
		return v.Raw == "true", nil
	case ast.NullValue:
		return nil, nil
	case ast.EnumValue:
		return gqlEnum(v.Raw), nil
	case ast.ListValue:
		list := []any{}
		for _, e := range v.Children {
			x, err := c.resolve(e.Value, depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, x)
		}
		return list, nil
	case ast.ObjectValue:
		obj := map[string]any{}
		for _, e := range v.Children {
			if _, dup := obj[e.Name]; dup {
				return nil, refuse("an input field given twice")
			}
			x, err := c.resolve(e.Value, depth+1)
			if err != nil {
				return nil, err
			}
			obj[e.Name] = x
		}
		return obj, nil
	}
	return nil, refuse("unknown value")
}

// gqlEnum is an enum literal; no checked argument takes one.
type gqlEnum string
