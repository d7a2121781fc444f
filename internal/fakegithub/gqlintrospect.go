package fakegithub

import (
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Introspection (__schema, __type) answered from the schema the fake
// executes on, as the spec defines it and GitHub serves it: types and
// directives by name, fields, arguments and enum values in declaration
// order, deprecated ones only when includeDeprecated is true, and the
// introspection fields themselves not listed among Query's fields.

// introspected is an object of one of the spec's introspection types.
type introspected interface {
	gqlObject
	field(e *execution, name string, args map[string]any) (any, *gqlError)
}

type (
	schemaObj struct{}
	typeObj   struct {
		def *ast.Definition // a named type
		typ *ast.Type       // or a list or non-null wrapper (def nil)
	}
	fieldObj      struct{ f *ast.FieldDefinition }
	inputValueObj struct {
		name, description string
		typ               *ast.Type
		defaultValue      *ast.Value
		directives        ast.DirectiveList
	}
	enumValueObj struct{ v *ast.EnumValueDefinition }
	directiveObj struct{ d *ast.DirectiveDefinition }
)

func (schemaObj) typeName() string      { return "__Schema" }
func (*typeObj) typeName() string       { return "__Type" }
func (*fieldObj) typeName() string      { return "__Field" }
func (*inputValueObj) typeName() string { return "__InputValue" }
func (*enumValueObj) typeName() string  { return "__EnumValue" }
func (*directiveObj) typeName() string  { return "__Directive" }

func (o schemaObj) field(e *execution, name string, _ map[string]any) (any, *gqlError) {
	s := e.schema
	switch name {
	case "description":
		return nullable(s.Description), nil
	case "types":
		var names []string
		for n := range s.Types {
			names = append(names, n)
		}
		slices.Sort(names)
		list := make([]gqlObject, len(names))
		for i, n := range names {
			list[i] = &typeObj{def: s.Types[n]}
		}
		return list, nil
	case "queryType":
		return &typeObj{def: s.Query}, nil
	case "mutationType":
		if s.Mutation == nil {
			return nil, nil
		}
		return &typeObj{def: s.Mutation}, nil
	case "subscriptionType":
		if s.Subscription == nil {
			return nil, nil
		}
		return &typeObj{def: s.Subscription}, nil
	case "directives":
		var names []string
		for n := range s.Directives {
			names = append(names, n)
		}
		slices.Sort(names)
		list := make([]gqlObject, len(names))
		for i, n := range names {
			list[i] = &directiveObj{s.Directives[n]}
		}
		return list, nil
	}
	return nil, unserved(o, name)
}

// typeOf is the __Type for a field's or argument's type.
func typeOf(e *execution, t *ast.Type) *typeObj {
	if t.NonNull || t.Elem != nil {
		return &typeObj{typ: t}
	}
	return &typeObj{def: e.schema.Types[t.NamedType]}
}

var typeKinds = map[ast.DefinitionKind]string{ast.Scalar: "SCALAR", ast.Object: "OBJECT", ast.Interface: "INTERFACE",
	ast.Union: "UNION", ast.Enum: "ENUM", ast.InputObject: "INPUT_OBJECT"}

func (o *typeObj) field(e *execution, name string, args map[string]any) (any, *gqlError) {
	if o.def == nil {
		return o.wrapperField(e, name)
	}
	d := o.def
	withDeprecated, _ := args["includeDeprecated"].(bool)
	switch name {
	case "kind":
		return typeKinds[d.Kind], nil
	case "name":
		return d.Name, nil
	case "description":
		return nullable(d.Description), nil
	case "specifiedByURL":
		if dir := d.Directives.ForName("specifiedBy"); dir != nil && d.Kind == ast.Scalar {
			if a := dir.Arguments.ForName("url"); a != nil {
				return a.Value.Raw, nil
			}
		}
		return nil, nil
	case "fields":
		if d.Kind != ast.Object && d.Kind != ast.Interface {
			return nil, nil
		}
		list := []gqlObject{}
		for _, f := range d.Fields {
			if !strings.HasPrefix(f.Name, "__") && (withDeprecated || !deprecated(f.Directives)) {
				list = append(list, &fieldObj{f})
			}
		}
		return list, nil
	case "interfaces":
		if d.Kind != ast.Object && d.Kind != ast.Interface {
			return nil, nil
		}
		list := []gqlObject{}
		for _, i := range d.Interfaces {
			list = append(list, &typeObj{def: e.schema.Types[i]})
		}
		return list, nil
	case "possibleTypes":
		if d.Kind != ast.Interface && d.Kind != ast.Union {
			return nil, nil
		}
		list := []gqlObject{}
		for _, t := range e.schema.GetPossibleTypes(d) {
			list = append(list, &typeObj{def: t})
		}
		return list, nil
	case "enumValues":
		if d.Kind != ast.Enum {
			return nil, nil
		}
		list := []gqlObject{}
		for _, v := range d.EnumValues {
			if withDeprecated || !deprecated(v.Directives) {
				list = append(list, &enumValueObj{v})
			}
		}
		return list, nil
	case "inputFields":
		if d.Kind != ast.InputObject {
			return nil, nil
		}
		list := []gqlObject{}
		for _, f := range d.Fields {
			if withDeprecated || !deprecated(f.Directives) {
				list = append(list, &inputValueObj{f.Name, f.Description, f.Type, f.DefaultValue, f.Directives})
			}
		}
		return list, nil
	case "ofType":
		return nil, nil
	case "isOneOf":
		if d.Kind != ast.InputObject {
			return nil, nil
		}
		return d.Directives.ForName("oneOf") != nil, nil
	}
	return nil, unserved(o, name)
}

// wrapperField answers a LIST or NON_NULL __Type: only kind and ofType.
func (o *typeObj) wrapperField(e *execution, name string) (any, *gqlError) {
	switch name {
	case "kind":
		if o.typ.NonNull {
			return "NON_NULL", nil
		}
		return "LIST", nil
	case "ofType":
		if o.typ.NonNull {
			inner := *o.typ
			inner.NonNull = false
			return typeOf(e, &inner), nil
		}
		return typeOf(e, o.typ.Elem), nil
	}
	return nil, nil
}

func (o *fieldObj) field(e *execution, name string, args map[string]any) (any, *gqlError) {
	switch name {
	case "name":
		return o.f.Name, nil
	case "description":
		return nullable(o.f.Description), nil
	case "args":
		return inputValues(o.f.Arguments, args), nil
	case "type":
		return typeOf(e, o.f.Type), nil
	case "isDeprecated":
		return deprecated(o.f.Directives), nil
	case "deprecationReason":
		return deprecationReason(o.f.Directives), nil
	}
	return nil, unserved(o, name)
}

// inputValues lists a field's or directive's arguments.
func inputValues(defs ast.ArgumentDefinitionList, args map[string]any) []gqlObject {
	withDeprecated, _ := args["includeDeprecated"].(bool)
	list := []gqlObject{}
	for _, a := range defs {
		if withDeprecated || !deprecated(a.Directives) {
			list = append(list, &inputValueObj{a.Name, a.Description, a.Type, a.DefaultValue, a.Directives})
		}
	}
	return list
}

func (o *inputValueObj) field(e *execution, name string, _ map[string]any) (any, *gqlError) {
	switch name {
	case "name":
		return o.name, nil
	case "description":
		return nullable(o.description), nil
	case "type":
		return typeOf(e, o.typ), nil
	case "defaultValue":
		if o.defaultValue == nil {
			return nil, nil
		}
		return o.defaultValue.String(), nil
	case "isDeprecated":
		return deprecated(o.directives), nil
	case "deprecationReason":
		return deprecationReason(o.directives), nil
	}
	return nil, unserved(o, name)
}

func (o *enumValueObj) field(_ *execution, name string, _ map[string]any) (any, *gqlError) {
	switch name {
	case "name":
		return o.v.Name, nil
	case "description":
		return nullable(o.v.Description), nil
	case "isDeprecated":
		return deprecated(o.v.Directives), nil
	case "deprecationReason":
		return deprecationReason(o.v.Directives), nil
	}
	return nil, unserved(o, name)
}

func (o *directiveObj) field(_ *execution, name string, args map[string]any) (any, *gqlError) {
	switch name {
	case "name":
		return o.d.Name, nil
	case "description":
		return nullable(o.d.Description), nil
	case "isRepeatable":
		return o.d.IsRepeatable, nil
	case "locations":
		locs := make([]string, len(o.d.Locations))
		for i, l := range o.d.Locations {
			locs[i] = string(l)
		}
		return locs, nil
	case "args":
		return inputValues(o.d.Arguments, args), nil
	}
	return nil, unserved(o, name)
}

func deprecated(dirs ast.DirectiveList) bool { return dirs.ForName("deprecated") != nil }

// deprecationReason is the @deprecated reason, the spec's default when
// none is given, or null when not deprecated.
func deprecationReason(dirs ast.DirectiveList) *string {
	d := dirs.ForName("deprecated")
	if d == nil {
		return nil
	}
	reason := "No longer supported"
	if a := d.Arguments.ForName("reason"); a != nil && a.Value != nil {
		reason = a.Value.Raw
	}
	return &reason
}
