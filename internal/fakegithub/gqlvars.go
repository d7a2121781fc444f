package fakegithub

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/caddy-outstatic/caddy-outstatic/relay/gqlpolicy/ghschema/jsonvalue"
)

// Values as GitHub reads them. A request's variables go through
// gqlparser's validator.VariableValues on the schema, which applies the
// spec's input coercion (a lone value where a list is expected is a list
// of one), then through githubValue, which holds to graphql-ruby's
// coercion where gqlparser is kinder (an Int given as a string, an enum in
// another case, any JSON for GitHub's own string scalars, a __typename key
// in an input object) and fills in input fields' defaults. Inline values
// are read by literalValue against the type validation gave them. Both
// give plain JSON values: map[string]any, []any, string, int64, float64,
// bool, nil.

// problem is what graphql-ruby reports about one input value: where in
// the variable's value, and why.
type problem struct {
	path        []any
	explanation string
}

// coerceVariables returns op's variables as GitHub coerces them, or
// GitHub's error for the first one that does not coerce. (GitHub lists
// every problem of every variable; gqlparser stops at the first, and so
// does the fake.) A nullable variable that was not given is left out.
func coerceVariables(schema *ast.Schema, op *ast.OperationDefinition, given map[string]any) (map[string]any, *gqlError) {
	coerced, err := validator.VariableValues(schema, op, given)
	if err != nil {
		var ge *gqlerror.Error
		if !errors.As(err, &ge) || len(ge.Path) < 2 {
			return nil, &gqlError{Message: err.Error()}
		}
		name, _ := ge.Path[1].(ast.PathName)
		d := op.VariableDefinitions.ForName(string(name))
		if d == nil {
			return nil, &gqlError{Message: err.Error()}
		}
		return nil, variableError(d, given[d.Variable], explain(schema, d.Type, given[d.Variable], ge.Path[2:]))
	}
	out := map[string]any{}
	for _, d := range op.VariableDefinitions {
		v, ok := coerced[d.Variable]
		if !ok {
			continue
		}
		plain, p := githubValue(schema, d.Type, v, nil)
		if p != nil {
			return nil, variableError(d, given[d.Variable], *p)
		}
		out[d.Variable] = plain
	}
	return out, nil
}

// variableError is GitHub's error for variable d given value, with p.
func variableError(d *ast.VariableDefinition, value any, p problem) *gqlError {
	msg := fmt.Sprintf("Variable $%s of type %s was provided invalid value", d.Variable, d.Type.String())
	if len(p.path) > 0 {
		steps := make([]string, len(p.path))
		for i, s := range p.path {
			steps[i] = fmt.Sprint(s)
		}
		msg += fmt.Sprintf(" for %s (%s)", strings.Join(steps, "."), p.explanation)
	}
	if p.path == nil {
		p.path = []any{}
	}
	return &gqlError{Extensions: map[string]any{"value": value, "problems": []map[string]any{{"path": p.path, "explanation": p.explanation}}},
		Locations: []pos{at(d.Position)}, Message: msg}
}

// explain follows path (where gqlparser found a problem) through the value
// v of type typ, and says what is wrong there as graphql-ruby does.
func explain(schema *ast.Schema, typ *ast.Type, v any, path ast.Path) problem {
	var steps []any
	for _, step := range path {
		switch s := step.(type) {
		case ast.PathIndex:
			if typ.Elem == nil {
				break
			}
			typ = typ.Elem
			if items, isList := jsonvalue.List(v); isList {
				v = nil
				if int(s) < len(items) {
					v = items[s]
				}
			}
			steps = append(steps, int(s))
		case ast.PathName:
			def := schema.Types[typ.Name()]
			steps = append(steps, string(s))
			f := def.Fields.ForName(string(s))
			if f == nil {
				return problem{steps, "Field is not defined on " + def.Name}
			}
			m, _ := jsonvalue.Object(v)
			v, typ = m[string(s)], f.Type
		}
	}
	return problem{steps, mismatch(schema, typ, v)}
}

// mismatch says why v is not of type typ.
func mismatch(schema *ast.Schema, typ *ast.Type, v any) string {
	if v == nil {
		return "Expected value to not be null"
	}
	def := schema.Types[typ.Name()]
	text, _ := json.Marshal(v)
	switch def.Kind {
	case ast.InputObject:
		return fmt.Sprintf("Expected %s to be a key-value object.", text)
	case ast.Enum:
		names := make([]string, len(def.EnumValues))
		for i, e := range def.EnumValues {
			names[i] = e.Name
		}
		return fmt.Sprintf("Expected %s to be one of: %s", text, strings.Join(names, ", "))
	}
	return fmt.Sprintf("Could not coerce value %s to %s", text, def.Name)
}

// githubValue re-reads v, which gqlparser accepted as typ, as GitHub
// does, and returns it as plain JSON.
func githubValue(schema *ast.Schema, typ *ast.Type, v any, path []any) (any, *problem) {
	here := func() *problem { return &problem{path, mismatch(schema, typ, v)} }
	if v == nil {
		if typ.NonNull {
			return nil, here()
		}
		return nil, nil
	}
	if typ.Elem != nil {
		items, isList := jsonvalue.List(v)
		if !isList {
			items = []any{v}
		}
		out := make([]any, len(items))
		for i, x := range items {
			c, p := githubValue(schema, typ.Elem, x, append(append([]any(nil), path...), i))
			if p != nil {
				return nil, p
			}
			out[i] = c
		}
		return out, nil
	}
	def := schema.Types[typ.NamedType]
	switch def.Kind {
	case ast.InputObject:
		m, ok := jsonvalue.Object(v)
		if !ok {
			return nil, here()
		}
		for k := range m {
			if def.Fields.ForName(k) == nil {
				return nil, &problem{append(append([]any(nil), path...), k), "Field is not defined on " + def.Name}
			}
		}
		out := map[string]any{}
		for _, f := range def.Fields {
			x, given := m[f.Name]
			if !given {
				if f.DefaultValue != nil {
					out[f.Name], _ = literalValue(schema, f.Type, f.DefaultValue, nil)
				}
				continue
			}
			c, p := githubValue(schema, f.Type, x, append(append([]any(nil), path...), f.Name))
			if p != nil {
				return nil, p
			}
			out[f.Name] = c
		}
		return out, nil
	case ast.Enum:
		if s, ok := v.(string); ok && def.EnumValues.ForName(s) != nil {
			return s, nil
		}
		return nil, here()
	}
	if c, ok := githubScalar(def.Name, v); ok {
		return c, nil
	}
	return nil, here()
}

// githubScalar coerces a JSON value to a scalar as graphql-ruby does: an
// Int is a 32-bit integer, an ID a string or an integer (made a string),
// and String and GitHub's own scalars (GitObjectID, URI, DateTime, ...)
// are strings.
func githubScalar(name string, v any) (any, bool) {
	switch name {
	case "Int":
		n, ok := jsonvalue.Integer(v)
		return n, ok && n >= math.MinInt32 && n <= math.MaxInt32
	case "Float":
		switch f := v.(type) {
		case json.Number:
			x, err := f.Float64()
			return x, err == nil
		case float64:
			return f, true
		case int64:
			return float64(f), true
		}
		return nil, false
	case "Boolean":
		b, ok := v.(bool)
		return b, ok
	case "ID":
		if n, ok := jsonvalue.Integer(v); ok {
			return strconv.FormatInt(n, 10), true
		}
	}
	s, ok := v.(string)
	return s, ok
}

// literalValue reads an inline value (validated as typ) with the
// variables vars: lone values where lists are expected are lists of one,
// input fields not given take their defaults. present is false for a
// variable that was not given.
func literalValue(schema *ast.Schema, typ *ast.Type, v *ast.Value, vars map[string]any) (val any, present bool) {
	switch v.Kind {
	case ast.Variable:
		val, present = vars[v.Raw]
		return val, present
	case ast.NullValue:
		return nil, true
	}
	if typ.Elem != nil {
		items := []*ast.Value{v}
		if v.Kind == ast.ListValue {
			items = items[:0]
			for _, c := range v.Children {
				items = append(items, c.Value)
			}
		}
		out := make([]any, len(items))
		for i, c := range items {
			out[i], _ = literalValue(schema, typ.Elem, c, vars)
		}
		return out, true
	}
	def := schema.Types[typ.NamedType]
	switch {
	case def.Kind == ast.InputObject:
		out := map[string]any{}
		for _, f := range def.Fields {
			if c := v.Children.ForName(f.Name); c != nil {
				if x, ok := literalValue(schema, f.Type, c, vars); ok {
					out[f.Name] = x
					continue
				}
			}
			if f.DefaultValue != nil {
				out[f.Name], _ = literalValue(schema, f.Type, f.DefaultValue, nil)
			}
		}
		return out, true
	case def.Name == "Int":
		n, _ := strconv.ParseInt(v.Raw, 10, 64)
		return n, true
	case def.Name == "Float":
		f, _ := strconv.ParseFloat(v.Raw, 64)
		return f, true
	case def.Name == "Boolean":
		return v.Raw == "true", true
	}
	return v.Raw, true // enums, strings, IDs and GitHub's string scalars
}
