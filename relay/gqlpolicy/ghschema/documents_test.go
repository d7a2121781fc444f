package ghschema

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	gqlast "github.com/vektah/gqlparser/v2/ast"
	gqlparser "github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// The markers that say a document in the project's Go code is meant not to
// validate against the cut schema: GitHub's schema refuses it (a test of
// what happens then), or GitHub accepts it but the cut leaves out what it
// selects. The comment says why after the colon; it marks the documents
// on its own line, or, on a line of its own, those of the statement,
// declaration or element that follows it.
const (
	markRefused = "GitHub refuses:"
	markOutside = "not in the cut:"
)

// Every GraphQL document written whole in the project's Go code (the
// plugin, its tests, e2e/ and bench/: string literals, constant
// concatenations of them, and the "query" of JSON bodies) validates
// against the cut schema, or is marked as a deliberate negative case, and
// then does not validate. Documents built at run time are checked where
// they are built (the relay's policy tests classify theirs).
func TestProjectDocumentsValidate(t *testing.T) {
	found := 0
	const root = "../../.." // the repository, from this package
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || path == root+"/testdata/stock-site") {
			return filepath.SkipDir
		}
		// trim's tests cut a small schema of their own.
		if d.IsDir() || !strings.HasSuffix(path, ".go") || path == root+"/relay/gqlpolicy/ghschema/trim/trim_test.go" {
			return nil
		}
		docs, err := goDocuments(path)
		if err != nil {
			return err
		}
		for _, doc := range docs {
			found++
			errs := validateText(doc.text)
			switch {
			case doc.mark == "" && len(errs) > 0:
				t.Errorf("%s: does not validate against GitHub's schema (ghschema): %s\n\t%q\n\t(fix it, keep what it needs in trim/keep.graphql, or mark it %q / %q with the reason)",
					doc.at, errs, doc.text, markRefused, markOutside)
			case doc.mark != "" && len(errs) == 0:
				t.Errorf("%s: marked %q but validates: %q", doc.at, doc.mark, doc.text)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 50 {
		t.Fatalf("found only %d documents: the scan is broken", found)
	}
}

// document is a GraphQL document found in Go source.
type document struct {
	at, text, mark string
}

// validateText parses and validates a document; "" if it is valid.
func validateText(text string) string {
	q, err := gqlparser.ParseQuery(&gqlast.Source{Input: text})
	if err != nil {
		return err.Error()
	}
	if errs := validator.ValidateWithRules(Schema(), q, nil); len(errs) > 0 {
		return errs.Error()
	}
	return ""
}

// goDocuments finds the GraphQL documents in a Go file: strings (single
// literals or constant concatenations) that parse as a GraphQL document
// with an operation, or JSON objects whose "query" does.
func goDocuments(path string) ([]document, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(src), "\n")
	line := func(p token.Pos) int { return fset.Position(p).Line }
	marks := map[int]string{}      // line → marker
	standalone := map[int]string{} // the line after a marker alone on its line → marker
	for _, g := range f.Comments {
		for _, c := range g.List {
			for _, m := range []string{markRefused, markOutside} {
				if !strings.Contains(c.Text, m) {
					continue
				}
				p := fset.Position(c.Pos())
				marks[p.Line] = m
				if strings.TrimSpace(lines[p.Line-1][:p.Column-1]) == "" {
					standalone[line(c.End())+1] = m
				}
			}
		}
	}
	// A marker alone on its line covers the node that starts on the next
	// line, to its end.
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			return false
		}
		if m := standalone[line(n.Pos())]; m != "" {
			for l := line(n.Pos()); l <= line(n.End()); l++ {
				marks[l] = m
			}
		}
		return true
	})
	var out []document
	ast.Inspect(f, func(n ast.Node) bool {
		expr, ok := n.(ast.Expr)
		if !ok {
			return true
		}
		s, ok := constantString(expr)
		if !ok {
			return true
		}
		text := s
		var body struct {
			Query string `json:"query"`
		}
		if json.Unmarshal([]byte(s), &body) == nil && body.Query != "" {
			text = body.Query
		}
		if !isDocument(text) {
			return false
		}
		start, end := fset.Position(expr.Pos()), fset.Position(expr.End())
		mark := ""
		for l := start.Line; l <= end.Line; l++ {
			if marks[l] != "" {
				mark = marks[l]
			}
		}
		out = append(out, document{at: start.String(), text: text, mark: mark})
		return false
	})
	return out, nil
}

// isDocument reports whether text parses as a GraphQL document with an
// operation. A shorthand query of bare fields only ("{ADDR}", a
// Caddyfile's "{ admin off }") is taken for the text it more likely is.
func isDocument(text string) bool {
	q, err := gqlparser.ParseQuery(&gqlast.Source{Input: text})
	if err != nil || len(q.Operations) == 0 {
		return false
	}
	if !strings.HasPrefix(strings.TrimSpace(text), "{") || len(q.Operations) > 1 {
		return true
	}
	for _, sel := range q.Operations[0].SelectionSet {
		if f, ok := sel.(*gqlast.Field); !ok || len(f.SelectionSet) > 0 || len(f.Arguments) > 0 {
			return true
		}
	}
	return false
}

// constantString is the value of a string literal, or of a + of them.
func constantString(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		a, ok := constantString(e.X)
		if !ok {
			return "", false
		}
		b, ok := constantString(e.Y)
		return a + b, ok
	case *ast.ParenExpr:
		return constantString(e.X)
	}
	return "", false
}

// The scan finds what it should: a literal, a concatenation, a JSON body,
// markers on the line and the line above; it skips strings that are not
// documents.
func TestGoDocuments(t *testing.T) {
	src := "package x\n" +
		"var a = `query { viewer { login } }`\n" +
		"var b = \"query Q($o: String!) \" + `{ repository(owner: $o, name: \"x\") { id } }`\n" +
		"var c = `{\"query\":\"{ viewer { login } }\",\"variables\":{}}`\n" +
		"var d = `query { nope }` // GitHub refuses: no such field\n" +
		"// not in the cut: node\n" +
		"var e = `{ node(id: \"x\") { id } }`\n" +
		"var f = []string{\"{env.KEY}\", \"query\", `{\n\tadmin off\n}`, `fragment F on Repository { id }`, `{ADDR}`}\n" +
		"// GitHub refuses: both\n" +
		"var g = []string{\n\t`query { a }`,\n\t`query { b }`,\n}\n" +
		"var h = `query { c }`\n"
	dir := t.TempDir()
	path := filepath.Join(dir, "x.go")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	docs, err := goDocuments(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range docs {
		got = append(got, d.text+" |"+d.mark)
	}
	want := []string{
		"query { viewer { login } } |",
		`query Q($o: String!) { repository(owner: $o, name: "x") { id } } |`,
		"{ viewer { login } } |",
		"query { nope } |" + markRefused,
		`{ node(id: "x") { id } } |` + markOutside,
		"query { a } |" + markRefused,
		"query { b } |" + markRefused,
		"query { c } |",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("found\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
