package fakegithub

import (
	"fmt"
	"strconv"
)

// This file is a small GraphQL parser: executable documents only
// (operations, fragments, fields with aliases and arguments, inline
// fragments, spreads, directives, variables and literals). It exists so
// the fake answers what a query asks, field by field, instead of matching
// the dashboard's query texts.

// pos is a source location, as GraphQL errors report it.
type pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

type document struct {
	ops   []*operation
	frags map[string]*fragment
}

type operation struct {
	kind, name string // kind: query, mutation or subscription
	vars       []varDef
	sel        []selection
	loc        pos
}

type varDef struct {
	name, typ string // typ as written: String!, [ID!]
	def       any
	hasDef    bool
	loc       pos
}

// selection is a field (name set), an inline fragment (inline set) or a
// fragment spread (spread set).
type selection struct {
	alias, name string
	args        []argument
	dirs        []argument // directive name → its "if" argument
	sel         []selection
	inline      bool
	typeCond    string
	spread      string
	loc         pos
}

type argument struct {
	name string
	val  any
}

type fragment struct {
	name, typeCond string
	sel            []selection
}

// varRef and enumVal are literal kinds that need context to evaluate.
type (
	varRef  string
	enumVal string
)

type token struct {
	kind string // NAME, INT, FLOAT, STRING, PUNCT, EOF
	val  string
	loc  pos
}

type parser struct {
	src       string
	i, line   int
	lineStart int
	tok       token
}

// parseDocument parses src; errors read like GitHub's parse errors.
func parseDocument(src string) (doc *document, err error) {
	p := &parser{src: src, line: 1}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(parseError)
			if !ok {
				panic(r)
			}
			doc, err = nil, e
		}
	}()
	p.next()
	doc = &document{frags: map[string]*fragment{}}
	for p.tok.kind != "EOF" {
		switch {
		case p.tok.kind == "PUNCT" && p.tok.val == "{":
			doc.ops = append(doc.ops, &operation{kind: "query", loc: p.tok.loc, sel: p.selectionSet()})
		case p.tok.kind == "NAME" && p.tok.val == "fragment":
			p.next()
			f := &fragment{name: p.name()}
			p.keyword("on")
			f.typeCond = p.name()
			p.directives()
			f.sel = p.selectionSet()
			doc.frags[f.name] = f
		case p.tok.kind == "NAME" && (p.tok.val == "query" || p.tok.val == "mutation" || p.tok.val == "subscription"):
			op := &operation{kind: p.tok.val, loc: p.tok.loc}
			p.next()
			if p.tok.kind == "NAME" {
				op.name = p.name()
			}
			if p.punct("(") {
				for !p.punct(")") {
					op.vars = append(op.vars, p.varDef())
				}
			}
			p.directives()
			op.sel = p.selectionSet()
			doc.ops = append(doc.ops, op)
		default:
			p.fail()
		}
	}
	if len(doc.ops) == 0 {
		return nil, parseError{"Unexpected end of document", nil}
	}
	return doc, nil
}

type parseError struct {
	msg string
	loc *pos
}

func (e parseError) Error() string { return e.msg }

func (p *parser) fail() {
	if p.tok.kind == "EOF" {
		panic(parseError{"Unexpected end of document", nil})
	}
	kind := map[string]string{"NAME": "IDENTIFIER", "PUNCT": "PUNCTUATOR"}[p.tok.kind]
	if kind == "" {
		kind = p.tok.kind
	}
	l := p.tok.loc
	panic(parseError{fmt.Sprintf("Parse error on %q (%s) at [%d, %d]", p.tok.val, kind, l.Line, l.Column), &l})
}

// punct consumes the punctuator s if it is next.
func (p *parser) punct(s string) bool {
	if p.tok.kind == "PUNCT" && p.tok.val == s {
		p.next()
		return true
	}
	return false
}

func (p *parser) expect(s string) {
	if !p.punct(s) {
		p.fail()
	}
}

func (p *parser) keyword(s string) {
	if p.tok.kind != "NAME" || p.tok.val != s {
		p.fail()
	}
	p.next()
}

func (p *parser) name() string {
	if p.tok.kind != "NAME" {
		p.fail()
	}
	n := p.tok.val
	p.next()
	return n
}

func (p *parser) varDef() varDef {
	v := varDef{loc: p.tok.loc}
	p.expect("$")
	v.name = p.name()
	p.expect(":")
	v.typ = p.typeRef()
	if p.punct("=") {
		v.def, v.hasDef = p.value(true), true
	}
	p.directives()
	return v
}

func (p *parser) typeRef() string {
	var t string
	if p.punct("[") {
		t = "[" + p.typeRef() + "]"
		p.expect("]")
	} else {
		t = p.name()
	}
	if p.punct("!") {
		t += "!"
	}
	return t
}

func (p *parser) directives() []argument {
	var out []argument
	for p.punct("@") {
		d := argument{name: p.name()}
		for _, a := range p.arguments() {
			if a.name == "if" {
				d.val = a.val
			}
		}
		out = append(out, d)
	}
	return out
}

func (p *parser) arguments() []argument {
	var out []argument
	if p.punct("(") {
		for !p.punct(")") {
			a := argument{name: p.name()}
			p.expect(":")
			a.val = p.value(false)
			out = append(out, a)
		}
	}
	return out
}

func (p *parser) selectionSet() []selection {
	p.expect("{")
	var out []selection
	for !p.punct("}") {
		s := selection{loc: p.tok.loc}
		if p.punct("...") {
			if p.tok.kind == "NAME" && p.tok.val != "on" {
				s.spread = p.name()
				s.dirs = p.directives()
			} else {
				s.inline = true
				if p.tok.kind == "NAME" && p.tok.val == "on" {
					p.next()
					s.typeCond = p.name()
				}
				s.dirs = p.directives()
				s.sel = p.selectionSet()
			}
		} else {
			s.name = p.name()
			if p.punct(":") {
				s.alias, s.name = s.name, p.name()
			}
			s.args = p.arguments()
			s.dirs = p.directives()
			if p.tok.kind == "PUNCT" && p.tok.val == "{" {
				s.sel = p.selectionSet()
			}
		}
		out = append(out, s)
	}
	return out
}

// value parses a literal; constant forbids variables (defaults).
func (p *parser) value(constant bool) any {
	t := p.tok
	switch {
	case t.kind == "PUNCT" && t.val == "$" && !constant:
		p.next()
		return varRef(p.name())
	case t.kind == "INT":
		p.next()
		n, _ := strconv.ParseInt(t.val, 10, 64)
		return n
	case t.kind == "FLOAT":
		p.next()
		f, _ := strconv.ParseFloat(t.val, 64)
		return f
	case t.kind == "STRING":
		p.next()
		return t.val
	case t.kind == "NAME":
		p.next()
		switch t.val {
		case "true", "false":
			return t.val == "true"
		case "null":
			return nil
		}
		return enumVal(t.val)
	case p.punct("["):
		list := []any{}
		for !p.punct("]") {
			list = append(list, p.value(constant))
		}
		return list
	case p.punct("{"):
		obj := map[string]any{}
		for !p.punct("}") {
			k := p.name()
			p.expect(":")
			obj[k] = p.value(constant)
		}
		return obj
	}
	p.fail()
	return nil
}
