package gqlpolicy

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/caddy-outstatic/caddy-outstatic/relay/gqlpolicy/ghschema/jsonvalue"
)

// Input coercion as the GraphQL spec defines it and GitHub applies it, so
// that the policy judges the values GitHub will act on, not the request's
// spelling of them. A lone value where a list is expected is a list of
// one; an input object has only the fields its type declares, each
// coerced to its type, with the declared defaults; null is never where
// the type is non-null; an Int is a 32-bit integer; an enum is one of its
// values, exactly; GitHub's own scalars (GitObjectID, URI, Base64String,
// ...) are strings. Whatever does not coerce is refused.
//
// Variables go through gqlparser's validator.VariableValues, then through
// coerceValue: gqlparser is lenient where GitHub is not (enums compared
// without case, Int from a string, any JSON for a custom scalar, a
// __typename key in an input object) and returns typed slices; the second
// pass holds to the spec and returns plain JSON values ([]any,
// map[string]any, string, int64, float64, bool, nil). Inline arguments go
// through literals.coerce by the same rules, variables in them replaced by
// their coerced values.

// gqlMaxInputDepth bounds the nesting of an input value.
const gqlMaxInputDepth = 32

// coerceVariables returns op's variables coerced to their declared types;
// a variable not given (and nullable) is left out, as GitHub leaves it.
func coerceVariables(schema *ast.Schema, op *ast.OperationDefinition, given map[string]any) (map[string]any, error) {
	vars, err := validator.VariableValues(schema, op, given)
	if err != nil {
		var ge *gqlerror.Error
		if errors.As(err, &ge) && len(ge.Path) > 0 {
			return nil, refuse("variables do not coerce at %s", quoteName(ge.Path.String()))
		}
		return nil, refuse("variables do not coerce")
	}
	out := map[string]any{}
	for _, d := range op.VariableDefinitions {
		v, ok := vars[d.Variable]
		if !ok {
			continue
		}
		c, err := coerceValue(schema, d.Type, v, 0)
		if err != nil {
			return nil, fmt.Errorf("%w (variable %s)", err, quoteName(d.Variable))
		}
		out[d.Variable] = c
	}
	return out, nil
}

// coerceValue coerces v, a JSON value, to typ.
func coerceValue(schema *ast.Schema, typ *ast.Type, v any, depth int) (any, error) {
	if depth > gqlMaxInputDepth {
		return nil, refuse("input nested too deep")
	}
	if v == nil {
		if typ.NonNull {
			return nil, refuse("null where %s is required", typ)
		}
		return nil, nil
	}
	if typ.Elem != nil {
		items, isList := jsonvalue.List(v)
		if !isList {
			items = []any{v} // a lone value is a list of one
		}
		out := make([]any, 0, len(items))
		for _, x := range items {
			c, err := coerceValue(schema, typ.Elem, x, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	}
	def := schema.Types[typ.NamedType]
	switch {
	case def == nil:
		return nil, refuse("unknown type %s", quoteName(typ.NamedType))
	case def.Kind == ast.InputObject:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, refuse("%s is not an input object", def.Name)
		}
		for k := range obj {
			if def.Fields.ForName(k) == nil {
				return nil, refuse("%s has no input field %s", def.Name, quoteName(k))
			}
		}
		out := map[string]any{}
		for _, f := range def.Fields {
			x, given := obj[f.Name]
			if !given {
				if err := defaultField(schema, def, f, out, depth); err != nil {
					return nil, err
				}
				continue
			}
			c, err := coerceValue(schema, f.Type, x, depth+1)
			if err != nil {
				return nil, err
			}
			out[f.Name] = c
		}
		return out, nil
	case def.Kind == ast.Enum:
		if s, ok := v.(string); ok && def.EnumValues.ForName(s) != nil {
			return s, nil
		}
		return nil, refuse("not a value of %s", def.Name)
	case def.Kind == ast.Scalar:
		return coerceScalar(def.Name, v)
	}
	return nil, refuse("%s is not an input type", def.Name)
}

// defaultField sets an input field that was not given: its default, or
// nothing if it may be absent.
func defaultField(schema *ast.Schema, def *ast.Definition, f *ast.FieldDefinition, out map[string]any, depth int) error {
	if f.DefaultValue != nil {
		c, _, err := literals{schema: schema}.coerce(f.Type, f.DefaultValue, depth+1)
		out[f.Name] = c
		return err
	}
	if f.Type.NonNull {
		return refuse("%s.%s is required", def.Name, f.Name)
	}
	return nil
}

// coerceScalar coerces a JSON value to a scalar type.
func coerceScalar(name string, v any) (any, error) {
	switch name {
	case "Int":
		if n, ok := jsonvalue.Integer(v); ok && n >= math.MinInt32 && n <= math.MaxInt32 {
			return n, nil
		}
		return nil, refuse("not a 32-bit integer where Int is required")
	case "Float":
		if f, ok := jsonFloat(v); ok {
			return f, nil
		}
		return nil, refuse("not a number where Float is required")
	case "Boolean":
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, refuse("not a boolean where Boolean is required")
	case "ID":
		if n, ok := jsonvalue.Integer(v); ok {
			return strconv.FormatInt(n, 10), nil
		}
	}
	// String, ID, and GitHub's own scalars, which are strings on the wire.
	if s, ok := v.(string); ok {
		return s, nil
	}
	return nil, refuse("not a string where %s is required", name)
}

// jsonFloat is v as a finite number, if it is one.
func jsonFloat(v any) (float64, bool) {
	var f float64
	switch n := v.(type) {
	case json.Number:
		var err error
		if f, err = strconv.ParseFloat(string(n), 64); err != nil {
			return 0, false
		}
	case float64:
		f = n
	case int64:
		f = float64(n)
	case int:
		f = float64(n)
	default:
		return 0, false
	}
	return f, !math.IsInf(f, 0) && !math.IsNaN(f)
}

// literals coerces inline values: variables in them are taken from vars
// (already coerced). It only reads the document, which requests sending
// the same text share (gqlcache.go): spellLists has already spelled lone
// list values as lists, and literals coerces a lone value the same way
// where it still meets one (in a default, which belongs to the schema).
type literals struct {
	schema *ast.Schema
	vars   map[string]any
}

// coerce coerces v to typ. given is false for a variable that was not
// given, which the caller treats as an absent field or argument.
func (l literals) coerce(typ *ast.Type, v *ast.Value, depth int) (val any, given bool, err error) {
	if v == nil || depth > gqlMaxInputDepth {
		return nil, false, refuse("argument value nested too deep")
	}
	switch v.Kind {
	case ast.Variable:
		x, ok := l.vars[v.Raw]
		if !ok {
			return nil, false, nil
		}
		// Validation put only list variables in list places; hold to it.
		if _, isList := jsonvalue.List(x); x != nil && typ.Elem != nil && !isList {
			return nil, false, refuse("variable %s does not fit its place", quoteName(v.Raw))
		}
		if x == nil && typ.NonNull {
			return nil, false, refuse("variable %s is null where %s is required", quoteName(v.Raw), typ)
		}
		return x, true, nil
	case ast.NullValue:
		if typ.NonNull {
			return nil, false, refuse("null where %s is required", typ)
		}
		return nil, true, nil
	}
	if typ.Elem != nil {
		items := v.Children
		if v.Kind != ast.ListValue { // a lone value is a list of one
			items = ast.ChildValueList{{Value: v, Position: v.Position}}
		}
		out := make([]any, 0, len(items))
		for _, item := range items {
			x, ok, err := l.coerce(typ.Elem, item.Value, depth+1)
			if err != nil {
				return nil, false, err
			}
			if !ok && typ.Elem.NonNull { // an absent variable in a list is null
				return nil, false, refuse("null where %s is required", typ.Elem)
			}
			out = append(out, x)
		}
		return out, true, nil
	}
	def := l.schema.Types[typ.NamedType]
	switch {
	case def == nil:
		return nil, false, refuse("unknown type %s", quoteName(typ.NamedType))
	case def.Kind == ast.InputObject:
		obj, err := l.object(def, v, depth)
		return obj, err == nil, err
	case def.Kind == ast.Enum:
		if v.Kind == ast.EnumValue && def.EnumValues.ForName(v.Raw) != nil {
			return v.Raw, true, nil
		}
		return nil, false, refuse("not a value of %s", def.Name)
	case def.Kind == ast.Scalar:
		x, err := literalScalar(def.Name, v)
		return x, err == nil, err
	}
	return nil, false, refuse("%s is not an input type", def.Name)
}

// object coerces an inline input object.
func (l literals) object(def *ast.Definition, v *ast.Value, depth int) (map[string]any, error) {
	if v.Kind != ast.ObjectValue {
		return nil, refuse("%s is not an input object", def.Name)
	}
	for i, c := range v.Children {
		if def.Fields.ForName(c.Name) == nil {
			return nil, refuse("%s has no input field %s", def.Name, quoteName(c.Name))
		}
		if v.Children[:i].ForName(c.Name) != nil {
			return nil, refuse("input field %s given twice", quoteName(c.Name))
		}
	}
	out := map[string]any{}
	for _, f := range def.Fields {
		if c := v.Children.ForName(f.Name); c != nil {
			x, given, err := l.coerce(f.Type, c, depth+1)
			if err != nil {
				return nil, err
			}
			if given {
				out[f.Name] = x
				continue
			}
		}
		if err := defaultField(l.schema, def, f, out, depth); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// literalScalar coerces an inline value to a scalar type.
func literalScalar(name string, v *ast.Value) (any, error) {
	isString := v.Kind == ast.StringValue || v.Kind == ast.BlockValue
	switch {
	case name == "Int" && v.Kind == ast.IntValue:
		if n, err := strconv.ParseInt(v.Raw, 10, 32); err == nil {
			return n, nil
		}
	case name == "Float" && (v.Kind == ast.IntValue || v.Kind == ast.FloatValue):
		if f, err := strconv.ParseFloat(v.Raw, 64); err == nil && !math.IsInf(f, 0) {
			return f, nil
		}
	case name == "Boolean" && v.Kind == ast.BooleanValue:
		return v.Raw == "true", nil
	case name == "ID" && v.Kind == ast.IntValue:
		return v.Raw, nil
	case name != "Int" && name != "Float" && name != "Boolean" && isString:
		return v.Raw, nil
	}
	return nil, refuse("the value given does not coerce to %s", name)
}

// spellLists rewrites, in a validated document, every inline lone value
// where its argument's or input field's type expects a list as the list
// of one that coercion reads it as, so that the forwarded document spells
// out what was judged. Variables and nulls stay as they are. It reaches
// every argument of every field, in the operation and in each fragment
// (validation has made sure each is used), nested as deep as literals
// will coerce; what is deeper, literals refuses.
func spellLists(schema *ast.Schema, doc *ast.QueryDocument) {
	var set func(ast.SelectionSet)
	set = func(sels ast.SelectionSet) {
		for _, sel := range sels {
			switch s := sel.(type) {
			case *ast.Field:
				if s.Definition != nil {
					for _, d := range s.Definition.Arguments {
						if a := s.Arguments.ForName(d.Name); a != nil {
							spellValue(schema, d.Type, a.Value, 0)
						}
					}
				}
				set(s.SelectionSet)
			case *ast.InlineFragment:
				set(s.SelectionSet)
			}
		}
	}
	for _, op := range doc.Operations {
		set(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		set(f.SelectionSet)
	}
}

// spellValue is spellLists for one value of type typ, walked as
// literals.coerce walks it.
func spellValue(schema *ast.Schema, typ *ast.Type, v *ast.Value, depth int) {
	if v == nil || depth > gqlMaxInputDepth || v.Kind == ast.Variable || v.Kind == ast.NullValue {
		return
	}
	if typ.Elem != nil {
		if v.Kind != ast.ListValue {
			lone := *v
			*v = ast.Value{Kind: ast.ListValue, Position: v.Position,
				Children: ast.ChildValueList{{Value: &lone, Position: v.Position}}}
		}
		for _, item := range v.Children {
			spellValue(schema, typ.Elem, item.Value, depth+1)
		}
		return
	}
	if def := schema.Types[typ.NamedType]; def != nil && def.Kind == ast.InputObject && v.Kind == ast.ObjectValue {
		for _, f := range def.Fields {
			if c := v.Children.ForName(f.Name); c != nil {
				spellValue(schema, f.Type, c, depth+1)
			}
		}
	}
}
