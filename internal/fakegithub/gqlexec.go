package fakegithub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/caddy-outstatic/caddy-outstatic/relay/gqlpolicy/ghschema/jsonvalue"
)

// Execution by the GraphQL spec on ghschema's schema: the fields a
// selection set asks of an object are collected (fragments that apply to
// its type, @skip and @include), each is resolved (gqlresolve.go,
// gqlgit.go, gqlmutate.go, gqlintrospect.go) with its arguments as GitHub
// reads them, and its value completed by the type the schema declares. A
// field that fails is reported with its path and is null; where the schema
// declares it non-null, the null reaches the nearest nullable field above
// it (the spec's error propagation), up to "data" itself.

// execution is one GraphQL request being answered.
type execution struct {
	s      *Server
	tok    *Token
	g      *gitRepo
	schema *ast.Schema
	doc    *ast.QueryDocument
	op     *ast.OperationDefinition
	vars   map[string]any
	errs   []gqlError
}

// gqlError is one entry of a GraphQL reply's "errors", its keys in
// GitHub's order.
type gqlError struct {
	Type       string         `json:"type,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
	Locations  []pos          `json:"locations,omitempty"`
	Message    string         `json:"message"`
}

// gqlObject is a value with a GraphQL object type.
type gqlObject interface{ typeName() string }

// run executes the operation on root; nil if a non-null root field failed.
func (e *execution) run(root gqlObject) *omap {
	data, _ := e.object(root, e.op.SelectionSet, nil)
	return data
}

// object executes sels on obj. ok is false when a non-null field came out
// null: the object is then null too.
func (e *execution) object(obj gqlObject, sels ast.SelectionSet, path []any) (out *omap, ok bool) {
	def := e.schema.Types[obj.typeName()]
	if def == nil {
		panic("fakegithub: type " + obj.typeName() + " is not in the schema")
	}
	var keys []string
	groups := map[string][]*ast.Field{}
	e.collect(def, sels, &keys, groups, 0)
	out = &omap{}
	for _, k := range keys {
		fields := groups[k]
		f := fields[0]
		if f.Name == "__typename" {
			out.set(k, def.Name)
			continue
		}
		fd := def.Fields.ForName(f.Name)
		var sub ast.SelectionSet
		for _, x := range fields {
			sub = append(sub, x.SelectionSet...)
		}
		here := append(append([]any(nil), path...), k)
		v, gerr := e.resolve(obj, f.Name, e.arguments(fd, f.Arguments))
		if gerr != nil {
			gerr.Path, gerr.Locations = here, []pos{at(f.Position)}
			e.errs = append(e.errs, *gerr)
			v = nil
		}
		c, ok := e.complete(fd.Type, v, gerr != nil, sub, here, def.Name+"."+f.Name, f.Position)
		if !ok {
			return nil, false
		}
		out.set(k, c)
	}
	return out, true
}

// complete turns a resolved value into JSON by its declared type. failed
// says the resolver already reported an error for it. ok is false when
// null came where typ is non-null.
func (e *execution) complete(typ *ast.Type, v any, failed bool, sub ast.SelectionSet, path []any, field string, p *ast.Position) (any, bool) {
	if isNull(v) {
		if typ.NonNull && !failed {
			e.errs = append(e.errs, gqlError{Path: path, Locations: []pos{at(p)},
				Message: "Cannot return null for non-nullable field " + field})
		}
		return nil, !typ.NonNull
	}
	if typ.Elem != nil {
		items, _ := jsonvalue.List(v)
		list := make([]any, len(items))
		for i, x := range items {
			c, ok := e.complete(typ.Elem, x, false, sub, append(append([]any(nil), path...), i), field, p)
			if !ok {
				return nil, !typ.NonNull
			}
			list[i] = c
		}
		return list, true
	}
	switch e.schema.Types[typ.NamedType].Kind {
	case ast.Scalar, ast.Enum:
		return v, true
	}
	obj, isObject := v.(gqlObject)
	if !isObject {
		panic(fmt.Sprintf("fakegithub: %s resolved to %T, not an object", field, v))
	}
	m, ok := e.object(obj, sub, path)
	if !ok {
		return nil, !typ.NonNull
	}
	return m, true
}

// isNull reports whether v is null: nil, or a nil pointer or slice.
func isNull(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// arguments reads a field's arguments: given ones as GitHub reads them,
// missing ones from their defaults; a variable not given counts as not
// given.
func (e *execution) arguments(fd *ast.FieldDefinition, given ast.ArgumentList) map[string]any {
	out := map[string]any{}
	for _, d := range fd.Arguments {
		if a := given.ForName(d.Name); a != nil {
			if v, ok := literalValue(e.schema, d.Type, a.Value, e.vars); ok {
				out[d.Name] = v
				continue
			}
		}
		if d.DefaultValue != nil {
			out[d.Name], _ = literalValue(e.schema, d.Type, d.DefaultValue, nil)
		}
	}
	return out
}

// collect groups the fields of sels that apply to an object of type def
// by response key, in order.
func (e *execution) collect(def *ast.Definition, sels ast.SelectionSet, keys *[]string, groups map[string][]*ast.Field, depth int) {
	if depth > 64 {
		return
	}
	for _, sel := range sels {
		switch s := sel.(type) {
		case *ast.FragmentSpread:
			if f := e.doc.Fragments.ForName(s.Name); e.included(s.Directives) && f != nil && e.applies(def, f.TypeCondition) {
				e.collect(def, f.SelectionSet, keys, groups, depth+1)
			}
		case *ast.InlineFragment:
			if e.included(s.Directives) && e.applies(def, s.TypeCondition) {
				e.collect(def, s.SelectionSet, keys, groups, depth+1)
			}
		case *ast.Field:
			if !e.included(s.Directives) {
				continue
			}
			k := s.Alias // gqlparser sets it to the name when there is no alias
			if k == "" {
				k = s.Name
			}
			if _, ok := groups[k]; !ok {
				*keys = append(*keys, k)
			}
			groups[k] = append(groups[k], s)
		}
	}
}

// applies reports whether a fragment on cond applies to an object of
// type def.
func (e *execution) applies(def *ast.Definition, cond string) bool {
	if cond == "" || cond == def.Name {
		return true
	}
	c := e.schema.Types[cond]
	if c == nil {
		return false
	}
	for _, t := range e.schema.GetPossibleTypes(c) {
		if t.Name == def.Name {
			return true
		}
	}
	return false
}

// included applies @skip and @include.
func (e *execution) included(dirs ast.DirectiveList) bool {
	for _, d := range dirs {
		var v bool
		if a := d.Arguments.ForName("if"); a != nil {
			x, _ := literalValue(e.schema, ast.NonNullNamedType("Boolean", nil), a.Value, e.vars)
			v, _ = x.(bool)
		}
		if (d.Name == "skip" && v) || (d.Name == "include" && !v) {
			return false
		}
	}
	return true
}

// omap is a JSON object that keeps its keys in selection order, as
// GitHub's replies do.
type omap struct {
	keys []string
	vals []any
}

func (m *omap) set(k string, v any) { m.keys, m.vals = append(m.keys, k), append(m.vals, v) }

// MarshalJSON writes the keys in insertion order; a nil omap is null.
func (m *omap) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range m.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(m.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
