package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// The protocol's bodies are read one way only. encoding/json alone keeps
// the last of two copies of a key, matches a key to a field in any case,
// with Unicode case folding ("exchange_to\u212Aen", with the Kelvin sign,
// is exchange_token to it; its v2 may also ignore "_" and "-"), and turns
// bytes that are not UTF-8 into U+FFFD: a body could carry one value for
// whatever reads it exactly (a guard, a proxy, a log) and another for the
// relay, and a value would be repaired rather than refused.

// maxJSONDepth bounds the nesting of a body; the protocol's are flat.
const maxJSONDepth = 32

// errNotStrict is the class of DecodeJSON's refusals; the message never
// quotes the body, whose keys are the client's text.
var errNotStrict = errors.New("body is not read one way only")

// ErrFieldAlias is the refusal of a key that is not exactly the JSON name
// of a field but matches one without regard to case, "_" or "-"; its text
// names the field, never the key.
var ErrFieldAlias = errors.New("another spelling of a checked field")

// CheckKeys refuses data, one JSON value, when a lenient decoder would
// read it otherwise than an exact one: bytes that are not UTF-8, a key
// twice in one object (at any depth), nesting deeper than maxJSONDepth,
// data after the value, and a key of the top-level object that is another
// spelling of one of names (ErrFieldAlias).
func CheckKeys(data []byte, names []string) error {
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: not UTF-8", errNotStrict)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walkStrict(dec, 0, names); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the value", errNotStrict)
	}
	return nil
}

// DecodeJSON decodes data, one JSON value, into v, as json.Unmarshal does,
// after CheckKeys with, when v points to a struct, its fields' JSON names.
func DecodeJSON(data []byte, v any) error {
	if err := CheckKeys(data, FieldNames(v)); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// walkStrict reads one value from dec, checking the keys of every object;
// names, for the top level only, are the target's field names.
func walkStrict(dec *json.Decoder, depth int, names []string) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("%w: nested too deeply", errNotStrict)
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			if seen[key] {
				return fmt.Errorf("%w: a key twice in one object", errNotStrict)
			}
			seen[key] = true
			if name := AliasOf(key, names); name != "" {
				return fmt.Errorf("%w: %w: %s", errNotStrict, ErrFieldAlias, name)
			}
			if err := walkStrict(dec, depth+1, nil); err != nil {
				return err
			}
		}
	case json.Delim('['):
		for dec.More() {
			if err := walkStrict(dec, depth+1, nil); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// AliasOf returns the one of names that a decoder lenient in case, "_"
// or "-" would read key as, when key is not exactly one of them; else "".
func AliasOf(key string, names []string) string {
	for _, name := range names {
		if key == name {
			return ""
		}
	}
	loose := looseName(key)
	for _, name := range names {
		if strings.EqualFold(loose, looseName(name)) {
			return name
		}
	}
	return ""
}

// looseName drops "_" and "-", as a decoder ignoring them would.
func looseName(s string) string { return separators.Replace(s) }

var separators = strings.NewReplacer("_", "", "-", "")

// FieldNames are the JSON names of the fields encoding/json decodes into
// when v points to a struct (embedded structs' fields included); none
// otherwise.
func FieldNames(v any) []string {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	return appendFieldNames(nil, t.Elem(), 0)
}

func appendFieldNames(out []string, t reflect.Type, depth int) []string {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct && depth < 8 {
			out = appendFieldNames(out, ft, depth+1)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}
