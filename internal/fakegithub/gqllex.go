package fakegithub

// The lexer of the GraphQL parser.

import (
	"strconv"
	"strings"
)

// next reads the following token into p.tok, skipping whitespace, commas
// and comments.
func (p *parser) next() {
	for p.i < len(p.src) {
		c := p.src[p.i]
		if c == '\n' {
			p.i++
			p.line, p.lineStart = p.line+1, p.i
		} else if c == ' ' || c == '\t' || c == '\r' || c == ',' {
			p.i++
		} else if c == '#' {
			for p.i < len(p.src) && p.src[p.i] != '\n' {
				p.i++
			}
		} else {
			break
		}
	}
	loc := pos{p.line, p.i - p.lineStart + 1}
	if p.i >= len(p.src) {
		p.tok = token{"EOF", "", loc}
		return
	}
	start, c := p.i, p.src[p.i]
	switch {
	case strings.HasPrefix(p.src[p.i:], "..."):
		p.i += 3
		p.tok = token{"PUNCT", "...", loc}
	case strings.IndexByte("!$&()[]{}:=@|", c) >= 0:
		p.i++
		p.tok = token{"PUNCT", string(c), loc}
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		for p.i < len(p.src) && isNameByte(p.src[p.i]) {
			p.i++
		}
		p.tok = token{"NAME", p.src[start:p.i], loc}
	case c == '-' || c >= '0' && c <= '9':
		p.i++
		kind := "INT"
		for p.i < len(p.src) && strings.IndexByte("0123456789.eE+-", p.src[p.i]) >= 0 {
			if strings.IndexByte(".eE", p.src[p.i]) >= 0 {
				kind = "FLOAT"
			}
			p.i++
		}
		p.tok = token{kind, p.src[start:p.i], loc}
	case c == '"':
		p.tok = token{"STRING", p.str(), loc}
	default:
		p.i++
		p.tok = token{"PUNCT", string(c), loc}
		p.fail()
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// str reads a string or block string literal starting at p.i.
func (p *parser) str() string {
	if strings.HasPrefix(p.src[p.i:], `"""`) {
		end := strings.Index(p.src[p.i+3:], `"""`)
		if end < 0 {
			p.i = len(p.src)
			p.tok = token{kind: "EOF"}
			p.fail()
		}
		raw := p.src[p.i+3 : p.i+3+end]
		p.line += strings.Count(raw, "\n")
		p.i += 6 + end
		return strings.TrimSpace(raw)
	}
	for j := p.i + 1; j < len(p.src); j++ {
		switch p.src[j] {
		case '\\':
			j++
		case '\n':
			j = len(p.src)
		case '"':
			s, err := strconv.Unquote(strings.ReplaceAll(p.src[p.i:j+1], `\/`, `/`))
			p.i = j + 1
			if err != nil {
				p.fail()
			}
			return s
		}
	}
	p.i = len(p.src)
	p.tok = token{kind: "EOF"}
	p.fail()
	return ""
}
