package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
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
// read it otherwise than an exact one: bytes that are not UTF-8 (or
// escapes that are not Unicode code points), a key twice in one object (at
// any depth), nesting deeper than maxJSONDepth, data after the value, and
// a key of the top-level object that is another spelling of one of names
// (ErrFieldAlias). The tokens are read by the JSON v2 tokenizer
// (jsontext), which refuses duplicate names and invalid text by itself.
func CheckKeys(data []byte, names []string) error {
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: not UTF-8", errNotStrict)
	}
	r := keyReaders.Get().(*keyReader)
	defer r.release()
	dec := r.reset(data)
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return notStrict(err)
		}
		depth := dec.StackDepth()
		if depth > maxJSONDepth {
			return fmt.Errorf("%w: nested too deeply", errNotStrict)
		}
		if depth == 1 && tok.Kind() == '"' {
			// a string at the top level of an object is a name when the
			// object's count of names and values is odd
			if kind, n := dec.StackIndex(1); kind == '{' && n%2 == 1 {
				if name := AliasOf(tok.String(), names); name != "" {
					return fmt.Errorf("%w: %w: %s", errNotStrict, ErrFieldAlias, name)
				}
			}
		}
		if depth == 0 {
			break
		}
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return fmt.Errorf("%w: data after the value", errNotStrict)
	}
	return nil
}

// keyReader is a tokenizer kept for the next body (a new one is most of
// the cost of a small body's check).
type keyReader struct {
	buf bytes.Buffer
	dec *jsontext.Decoder
}

var keyReaders = sync.Pool{New: func() any {
	r := &keyReader{}
	r.dec = jsontext.NewDecoder(&r.buf)
	return r
}}

// reset points the tokenizer at a copy of data.
func (r *keyReader) reset(data []byte) *jsontext.Decoder {
	r.buf.Reset()
	r.buf.Write(data)
	r.dec.Reset(&r.buf)
	return r.dec
}

// release returns r to the pool, unless a large body grew its buffer.
func (r *keyReader) release() {
	if r.buf.Cap() > 4<<10 {
		return
	}
	r.buf.Reset()
	keyReaders.Put(r)
}

// notStrict is the refusal for a tokenizer's error, which may quote the
// body: only its class is kept.
func notStrict(err error) error {
	if errors.Is(err, jsontext.ErrDuplicateName) {
		return fmt.Errorf("%w: a key twice in one object", errNotStrict)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: the value ends early", errNotStrict)
	}
	return fmt.Errorf("%w: not JSON as written", errNotStrict)
}

// DecodeJSON decodes data, one JSON value, into v, after CheckKeys with,
// when v points to a struct, its fields' JSON names. What CheckKeys lets
// through, the JSON v2 decoder reads as json.Unmarshal would (about five
// times faster: encoding/json scans a body twice), with one difference: a
// null zeroes a field that json.Unmarshal leaves as it was, so v should
// be a fresh value, as every caller's is (TestDecodeJSONReadsAsUnmarshal).
func DecodeJSON(data []byte, v any) error {
	if err := CheckKeys(data, FieldNames(v)); err != nil {
		return err
	}
	return jsonv2.Unmarshal(data, v)
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
// otherwise. The slice is shared: callers only read it.
func FieldNames(v any) []string {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	if names, ok := fieldNamesOf.Load(t); ok {
		return names.([]string)
	}
	names := appendFieldNames(nil, t.Elem(), 0)
	fieldNamesOf.Store(t, names)
	return names
}

// fieldNamesOf keeps FieldNames by type: a program decodes into a few.
var fieldNamesOf sync.Map

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
