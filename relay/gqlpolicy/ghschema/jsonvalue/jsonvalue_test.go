package jsonvalue

import (
	"encoding/json"
	"testing"
)

func TestList(t *testing.T) {
	for _, tc := range []struct {
		v    any
		n    int
		list bool
	}{{[]any{1, "a"}, 2, true}, {[]map[string]any{{}, {}}, 2, true}, {[]string{}, 0, true}, {"a", 0, false},
		{map[string]any{}, 0, false}, {nil, 0, false}} {
		items, ok := List(tc.v)
		if ok != tc.list || len(items) != tc.n {
			t.Errorf("List(%#v) = %v %v", tc.v, items, ok)
		}
	}
}

func TestObject(t *testing.T) {
	m, ok := Object(map[string]string{"a": "b"})
	if !ok || m["a"] != "b" {
		t.Errorf("typed map: %v %v", m, ok)
	}
	for _, v := range []any{map[int]any{1: 2}, []any{}, "x", nil} {
		if _, ok := Object(v); ok {
			t.Errorf("Object(%#v) is an object", v)
		}
	}
}

func TestInteger(t *testing.T) {
	for _, tc := range []struct {
		v  any
		n  int64
		ok bool
	}{{json.Number("12"), 12, true}, {json.Number("-3"), -3, true}, {json.Number("1.0"), 0, false},
		{json.Number("1e3"), 0, false}, {int64(7), 7, true}, {5, 5, true}, {"12", 0, false}, {1.5, 0, false}} {
		n, ok := Integer(tc.v)
		if ok != tc.ok || (ok && n != tc.n) {
			t.Errorf("Integer(%#v) = %d %v", tc.v, n, ok)
		}
	}
}
