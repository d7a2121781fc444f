// Package jsonvalue reads the values a GraphQL request's variables hold
// once decoded (encoding/json with UseNumber) and coerced by gqlparser's
// validator.VariableValues, which may have made a list a typed slice and
// an integer an int64. The relay's GraphQL policy and the fake GitHub read
// variables through it.
package jsonvalue

import (
	"encoding/json"
	"reflect"
	"strconv"
)

// List returns v's items if v is a list of any element type.
func List(v any) ([]any, bool) {
	if l, ok := v.([]any); ok {
		return l, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		return nil, false
	}
	items := make([]any, rv.Len())
	for i := range items {
		items[i] = rv.Index(i).Interface()
	}
	return items, true
}

// Object returns v as a map if v is an object (a map with string keys of
// any value type).
func Object(v any) (map[string]any, bool) {
	if m, ok := v.(map[string]any); ok {
		return m, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, false
	}
	out := make(map[string]any, rv.Len())
	for _, k := range rv.MapKeys() {
		out[k.String()] = rv.MapIndex(k).Interface()
	}
	return out, true
}

// Integer returns v as an integer if it is one: a JSON number without a
// fraction or exponent, or an integer coercion made of one.
func Integer(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 64)
		return i, err == nil
	case int64:
		return n, true
	case int:
		return int64(n), true
	}
	return 0, false
}
