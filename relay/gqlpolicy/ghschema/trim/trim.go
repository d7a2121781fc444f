package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// The cut, in rules (each applied until nothing changes):
//   - every field a document selects is kept, on the type it is selected on
//     (an interface's field on that interface), with all its arguments;
//   - a kept field keeps its type, and every argument's type;
//   - an input object keeps all its fields, an enum all its values, so
//     coercion against the cut schema is coercion against GitHub's;
//   - an interface or union keeps every type that can stand for it, and each
//     of those the interface's kept fields;
//   - a kept object or interface that no document selects a field of keeps
//     one field, so that it stays a valid type;
//   - a directive is kept where a kept definition uses it.
// Types and fields keep GitHub's order, descriptions and deprecations.

// document is a GraphQL document that says what to keep, with a name for
// errors.
type document struct{ name, text string }

// trimSchema cuts sdl, GitHub's schema, down to what docs use. dropped
// lists the repeated field declarations it left out.
func trimSchema(sdl string, docs []document) (out string, dropped []string, err error) {
	full, dropped, err := parseGitHub(sdl)
	if err != nil {
		return "", nil, err
	}
	// A second parse for gqlparser's schema: validation adds the
	// introspection fields to its Query type, which must not be printed.
	forSchema, _, err := parseGitHub(sdl)
	if err != nil {
		return "", nil, err
	}
	merged := validator.PreludeDocument()
	merged.Merge(forSchema)
	schema, err := validator.ValidateSchemaDocument(merged)
	if err != nil {
		return "", nil, fmt.Errorf("loading github's schema: %w", err)
	}
	c := &cut{schema: schema, types: map[string]bool{}, fields: map[string]map[string]bool{}}
	for _, d := range docs {
		if err := c.keepDocument(d); err != nil {
			return "", nil, err
		}
	}
	if len(c.fields) == 0 {
		return "", nil, errors.New("the documents select nothing")
	}
	c.close()
	return c.print(full), dropped, nil
}

// parseGitHub parses sdl and drops a field declared a second time in the
// same type, if it is the same declaration as the first (GitHub's SDL
// declares two fields of EnterpriseOwnerInfo twice, which gqlparser
// refuses); a second declaration that differs in more than its
// description is an error.
func parseGitHub(sdl string) (*ast.SchemaDocument, []string, error) {
	doc, err := parser.ParseSchema(&ast.Source{Name: "schema.graphql", Input: sdl})
	if err != nil {
		return nil, nil, fmt.Errorf("parsing github's schema: %w", err)
	}
	var dropped []string
	for _, def := range doc.Definitions {
		seen := map[string]*ast.FieldDefinition{}
		kept := def.Fields[:0]
		for _, f := range def.Fields {
			first, ok := seen[f.Name]
			if !ok {
				seen[f.Name] = f
				kept = append(kept, f)
				continue
			}
			if printField(first) != printField(f) {
				return nil, nil, fmt.Errorf("%s.%s is declared twice, differently", def.Name, f.Name)
			}
			dropped = append(dropped, def.Name+"."+f.Name)
		}
		def.Fields = kept
	}
	return doc, dropped, nil
}

// printField is a field declaration as SDL without its description, for
// comparing two of them (GitHub's two copies are described differently).
func printField(f *ast.FieldDefinition) string {
	var b bytes.Buffer
	one := &ast.Definition{Kind: ast.Object, Name: "T", Fields: ast.FieldList{f}}
	formatter.NewFormatter(&b, formatter.WithoutDescription()).FormatSchemaDocument(&ast.SchemaDocument{Definitions: ast.DefinitionList{one}})
	return b.String()
}

// cut is what is kept so far.
type cut struct {
	schema *ast.Schema
	types  map[string]bool
	fields map[string]map[string]bool // by type, the output fields kept
}

// keepDocument validates d against GitHub's whole schema and keeps every
// field it selects.
func (c *cut) keepDocument(d document) error {
	q, err := parser.ParseQuery(&ast.Source{Name: d.name, Input: d.text})
	if err != nil {
		return fmt.Errorf("%s: %w", d.name, err)
	}
	if errs := validator.ValidateWithRules(c.schema, q, nil); len(errs) > 0 {
		return fmt.Errorf("%s does not validate against github's schema: %w", d.name, errs)
	}
	events := &validator.Events{}
	events.OnField(func(_ *validator.Walker, f *ast.Field) {
		if f.Definition != nil && f.ObjectDefinition != nil && !strings.HasPrefix(f.Name, "__") {
			c.keepField(f.ObjectDefinition.Name, f.Name)
		}
	})
	validator.Walk(c.schema, q, events)
	return nil
}

// keepType keeps the named type and what it cannot be without.
func (c *cut) keepType(name string) {
	if c.types[name] {
		return
	}
	c.types[name] = true
	def := c.schema.Types[name]
	switch def.Kind {
	case ast.InputObject:
		for _, f := range def.Fields {
			c.keepType(f.Type.Name())
		}
	case ast.Interface, ast.Union:
		for _, t := range c.schema.GetPossibleTypes(def) {
			c.keepType(t.Name)
		}
	}
}

// keepField keeps an output field of typ, its type and its arguments'.
func (c *cut) keepField(typ, field string) {
	if c.fields[typ][field] {
		return
	}
	if c.fields[typ] == nil {
		c.fields[typ] = map[string]bool{}
	}
	c.fields[typ][field] = true
	c.keepType(typ)
	f := c.schema.Types[typ].Fields.ForName(field)
	c.keepType(f.Type.Name())
	for _, a := range f.Arguments {
		c.keepType(a.Type.Name())
	}
}

// close applies the interface and non-empty rules until nothing changes.
func (c *cut) close() {
	for changed := true; changed; {
		changed = false
		for _, name := range sortedKeys(c.types) {
			def := c.schema.Types[name]
			if def.Kind != ast.Object && def.Kind != ast.Interface {
				continue
			}
			before := len(c.fields[name])
			for _, intf := range def.Interfaces {
				if c.types[intf] {
					for _, f := range sortedKeys(c.fields[intf]) {
						c.keepField(name, f)
					}
				}
			}
			if len(c.fields[name]) == 0 {
				c.keepField(name, fallbackField(def))
			}
			changed = changed || len(c.fields[name]) != before
		}
	}
}

// fallbackField is the field a type keeps when no document selects one:
// its first leaf field without arguments, else its first field.
func fallbackField(def *ast.Definition) string {
	for _, f := range def.Fields {
		if len(f.Arguments) == 0 && !strings.HasPrefix(f.Name, "__") && isBuiltinScalar(f.Type.Name()) {
			return f.Name
		}
	}
	return def.Fields[0].Name
}

func isBuiltinScalar(name string) bool {
	return slices.Contains([]string{"String", "Int", "Float", "Boolean", "ID"}, name)
}

// print writes the kept part of full, GitHub's parsed schema, as SDL.
func (c *cut) print(full *ast.SchemaDocument) string {
	var out ast.SchemaDocument
	directives := map[string]bool{}
	use := func(list ast.DirectiveList) {
		for _, d := range list {
			directives[d.Name] = true
		}
	}
	for _, def := range full.Definitions {
		if !c.types[def.Name] {
			continue
		}
		kept := *def
		use(def.Directives)
		kept.Interfaces = slices.DeleteFunc(slices.Clone(def.Interfaces), func(i string) bool { return !c.types[i] })
		if def.Kind == ast.Object || def.Kind == ast.Interface {
			kept.Fields = slices.DeleteFunc(slices.Clone(def.Fields), func(f *ast.FieldDefinition) bool { return !c.fields[def.Name][f.Name] })
		}
		for _, f := range kept.Fields {
			use(f.Directives)
			for _, a := range f.Arguments {
				use(a.Directives)
			}
		}
		for _, v := range kept.EnumValues {
			use(v.Directives)
		}
		out.Definitions = append(out.Definitions, &kept)
	}
	for _, d := range full.Directives {
		if directives[d.Name] {
			out.Directives = append(out.Directives, d)
		}
	}
	// One definition at a time, a blank line between them.
	var parts []string
	for _, d := range out.Directives {
		parts = append(parts, format(&ast.SchemaDocument{Directives: ast.DirectiveDefinitionList{d}}))
	}
	for _, d := range out.Definitions {
		parts = append(parts, format(&ast.SchemaDocument{Definitions: ast.DefinitionList{d}}))
	}
	return strings.Join(parts, "\n")
}

func format(doc *ast.SchemaDocument) string {
	var b bytes.Buffer
	formatter.NewFormatter(&b, formatter.WithIndent("  ")).FormatSchemaDocument(doc)
	return b.String()
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
