package fakegithub

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// Documents are parsed with gqlparser, as the relay's parser endpoint
// parses them; the fake then answers what a query asks, field by field,
// against its own schema (gqlexec.go), instead of matching the
// dashboard's query texts.

// pos is a source location, as GraphQL errors report it.
type pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// at is where p points, or 1:1 when the parser gave no position.
func at(p *ast.Position) pos {
	if p == nil {
		return pos{1, 1}
	}
	return pos{p.Line, p.Column}
}

// parseDocument parses src. Its errors read like GitHub's: "Unexpected
// end of document" when src stops short, else "Parse error ... at [line,
// column]" with gqlparser's own description.
func parseDocument(src string) (*ast.QueryDocument, *gqlError) {
	doc, err := parser.ParseQuery(&ast.Source{Input: src})
	if err == nil {
		if len(doc.Operations) == 0 {
			return nil, &gqlError{Message: "Unexpected end of document"}
		}
		return doc, nil
	}
	var ge *gqlerror.Error
	if !errors.As(err, &ge) || len(ge.Locations) == 0 {
		return nil, &gqlError{Message: "Parse error: " + err.Error()}
	}
	if strings.Contains(ge.Message, "<EOF>") {
		return nil, &gqlError{Message: "Unexpected end of document"}
	}
	l := pos{ge.Locations[0].Line, ge.Locations[0].Column}
	return nil, &gqlError{Message: fmt.Sprintf("Parse error: %s at [%d, %d]", ge.Message, l.Line, l.Column), Locations: []pos{l}}
}
