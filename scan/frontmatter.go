package scan

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxFrontMatterBytes bounds the YAML block read from one document; real
// front matter is a few hundred bytes, and YAML parsing is the costly part.
const MaxFrontMatterBytes = 64 << 10

// Value is one front matter value, reduced to what inference needs.
type Value struct {
	// Kind is one of the Kind constants.
	Kind Kind
	// Str is the scalar's text, for strings (image and date detection).
	Str string
}

// Kind is the YAML shape of a value.
type Kind int

// The kinds a front matter value can have.
const (
	KindNull Kind = iota
	KindString
	KindNumber
	KindBool
	KindTimestamp
	KindList   // a sequence of scalars
	KindObject // a mapping, or a sequence holding mappings or sequences
)

// Pair is one front matter member, in file order.
type Pair struct {
	Key   string
	Value Value
}

// ReadFrontMatter returns the members of the YAML front matter that opens a
// Markdown document ("---" line, YAML mapping, "---" or "..." line), in the
// order they appear. ok is false when the document has no front matter; err
// is set when it has one that is not a YAML mapping or is too large.
func ReadFrontMatter(doc []byte) (pairs []Pair, ok bool, err error) {
	doc = bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf"))
	first, rest, found := cutLine(doc)
	if !found || string(bytes.TrimRight(first, " \t")) != "---" {
		return nil, false, nil
	}
	var yml []byte
	closed := false
	for off := 0; ; {
		i := bytes.IndexByte(rest[off:], '\n')
		raw := rest[off:]
		if i >= 0 {
			raw = rest[off : off+i]
		}
		if t := string(bytes.TrimRight(raw, " \t\r")); t == "---" || t == "..." {
			yml, closed = rest[:off], true
			break
		}
		if i < 0 {
			break
		}
		off += i + 1
		if off > MaxFrontMatterBytes {
			return nil, true, fmt.Errorf("front matter over %d bytes", MaxFrontMatterBytes)
		}
	}
	if !closed {
		return nil, true, errors.New("front matter is not closed by a --- line")
	}
	var root yaml.Node
	if err := yaml.Unmarshal(yml, &root); err != nil {
		return nil, true, fmt.Errorf("front matter is not valid YAML: %v", firstLine(err.Error()))
	}
	if root.Kind == 0 {
		return nil, true, nil // "---\n---": empty front matter
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, true, errors.New("front matter is not a YAML mapping")
	}
	m := root.Content[0]
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value == "" || k.Value == "<<" {
			continue // a merge key or a complex key: no field name to offer
		}
		if seen[k.Value] {
			continue
		}
		seen[k.Value] = true
		pairs = append(pairs, Pair{Key: k.Value, Value: valueOf(v, 0)})
	}
	return pairs, true, nil
}

// valueOf classifies a node; depth stops alias chains from looping.
func valueOf(n *yaml.Node, depth int) Value {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil || depth > 8 {
			return Value{Kind: KindNull}
		}
		return valueOf(n.Alias, depth+1)
	}
	switch n.Kind {
	case yaml.MappingNode:
		return Value{Kind: KindObject}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind == yaml.AliasNode && c.Alias != nil && depth <= 8 {
				c = c.Alias
			}
			if c.Kind != yaml.ScalarNode {
				return Value{Kind: KindObject}
			}
		}
		return Value{Kind: KindList}
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return Value{Kind: KindNull}
		case "!!bool":
			return Value{Kind: KindBool}
		case "!!int", "!!float":
			return Value{Kind: KindNumber}
		case "!!timestamp":
			return Value{Kind: KindTimestamp, Str: n.Value}
		default:
			return Value{Kind: KindString, Str: n.Value}
		}
	}
	return Value{Kind: KindNull}
}

// cutLine splits off the first line, without its "\n" or "\r\n".
func cutLine(b []byte) (line, rest []byte, found bool) {
	line, rest, found = bytes.Cut(b, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), rest, found
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
