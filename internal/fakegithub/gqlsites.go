package fakegithub

import (
	"slices"

	"github.com/vektah/gqlparser/v2/ast"
)

// site is what stands at one place of a document, for wording a
// validation error found there as GitHub does.
type site struct {
	// path is the place as graphql-ruby names it: "query Name" (or
	// "query"), "fragment F", "... on T", "... F", fields by response
	// name, arguments and input fields by name, list items by index.
	path []any
	// operation names the operation for variable errors: its name, or
	// "anonymous query".
	operation string
	// field is the field at or around the place.
	field *ast.Field
	// arg is the argument or input field whose value is at the place.
	arg *argSite
	// value is the inline value at the place.
	value *ast.Value
	// variable is the variable declared at the place.
	variable string
}

// argSite is an argument, or an input object's field, and what takes it.
type argSite struct {
	kind  string // "Field", "Directive" or "InputObject"
	owner string // the field's, directive's or input type's name
	name  string
	typ   string // its declared type, as GraphQL writes it
}

// sites indexes a document by source position.
type sites map[pos]site

// indexSites walks doc (after validation, which resolved definitions)
// and records the site at each node's position; the first node recorded
// at a position keeps it.
func indexSites(doc *ast.QueryDocument) sites {
	idx := sites{}
	for _, op := range doc.Operations {
		label, name := string(op.Operation), op.Name
		if name != "" {
			label += " " + name
		} else {
			name = "anonymous " + string(op.Operation)
		}
		root := site{path: []any{label}, operation: name}
		idx.add(op.Position, root)
		for _, v := range op.VariableDefinitions {
			s := root
			s.variable = v.Variable
			idx.add(v.Position, s)
		}
		idx.directives(op.Directives, root)
		idx.selections(op.SelectionSet, root)
	}
	for _, f := range doc.Fragments {
		s := site{path: []any{"fragment " + f.Name}, operation: "fragment " + f.Name}
		idx.add(f.Position, s)
		idx.directives(f.Directives, s)
		idx.selections(f.SelectionSet, s)
	}
	return idx
}

func (idx sites) add(p *ast.Position, s site) {
	if p == nil {
		return
	}
	k := pos{p.Line, p.Column}
	if _, ok := idx[k]; !ok {
		idx[k] = s
	}
}

// under is s one step further down.
func (s site) under(step any) site {
	s.path = append(slices.Clone(s.path), step)
	return s
}

func (idx sites) selections(sels ast.SelectionSet, at site) {
	for _, sel := range sels {
		switch sel := sel.(type) {
		case *ast.Field:
			key := sel.Alias
			if key == "" {
				key = sel.Name
			}
			s := at.under(key)
			s.field, s.arg, s.value = sel, nil, nil
			idx.add(sel.Position, s)
			var defs ast.ArgumentDefinitionList
			if sel.Definition != nil {
				defs = sel.Definition.Arguments
			}
			for _, a := range sel.Arguments {
				idx.argument(a, s, argumentSite("Field", sel.Name, a.Name, defs))
			}
			idx.directives(sel.Directives, s)
			idx.selections(sel.SelectionSet, s)
		case *ast.InlineFragment:
			step := "..."
			if sel.TypeCondition != "" {
				step = "... on " + sel.TypeCondition
			}
			s := at.under(step)
			idx.add(sel.Position, s)
			idx.directives(sel.Directives, s)
			idx.selections(sel.SelectionSet, s)
		case *ast.FragmentSpread:
			s := at.under("... " + sel.Name)
			idx.add(sel.Position, s)
			idx.directives(sel.Directives, s)
		}
	}
}

func (idx sites) directives(dirs ast.DirectiveList, at site) {
	for _, d := range dirs {
		idx.add(d.Position, at)
		var defs ast.ArgumentDefinitionList
		if d.Definition != nil {
			defs = d.Definition.Arguments
		}
		for _, a := range d.Arguments {
			idx.argument(a, at, argumentSite("Directive", d.Name, a.Name, defs))
		}
	}
}

// argumentSite is argument name of a field or directive, typed from its
// definitions.
func argumentSite(kind, owner, name string, defs ast.ArgumentDefinitionList) *argSite {
	as := &argSite{kind: kind, owner: owner, name: name}
	if d := defs.ForName(name); d != nil {
		as.typ = d.Type.String()
	}
	return as
}

func (idx sites) argument(a *ast.Argument, at site, as *argSite) {
	s := at.under(a.Name)
	s.arg = as
	idx.add(a.Position, s)
	idx.value(a.Value, s)
}

// value records v and, inside an input object, each field as an argument
// of the input type; list items that are input objects by index.
func (idx sites) value(v *ast.Value, at site) {
	if v == nil {
		return
	}
	at.value = v
	idx.add(v.Position, at)
	switch v.Kind {
	case ast.ListValue:
		for i, c := range v.Children {
			s := at
			if c.Value != nil && c.Value.Kind == ast.ObjectValue {
				s = at.under(i)
			}
			idx.value(c.Value, s)
		}
	case ast.ObjectValue:
		for _, c := range v.Children {
			as := &argSite{kind: "InputObject", name: c.Name}
			if v.Definition != nil {
				as.owner = v.Definition.Name
				if f := v.Definition.Fields.ForName(c.Name); f != nil {
					as.typ = f.Type.String()
				}
			}
			s := at.under(c.Name)
			s.arg, s.value = as, nil
			idx.add(c.Position, s)
			idx.value(c.Value, s)
		}
	}
}
