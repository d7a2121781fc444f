package outstatic

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// The reference documents in docs/ hold what the code accepts and
// answers: these tests read the code's own tables (the Caddyfile parser's
// subdirectives, protocol/codes.go) and fail when a document misses an
// entry of them.

// subdirectiveTables reads the Caddyfile parser's tables from its source,
// by the block readBlock or readArglessBlock names for each: every
// subdirectives{...} literal of the package's files, with what a method
// that takes the table adds to it (subs["name"] = ..., as
// KeyCheck.addSubdirectives does). A table the walk cannot place in a
// block fails the test, so that a new way of building one is seen.
func subdirectiveTables(t *testing.T) map[string][]string {
	t.Helper()
	fset := token.NewFileSet()
	paths, _ := filepath.Glob("*.go")
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	isTable := func(e ast.Expr) bool {
		id, ok := e.(*ast.Ident)
		return ok && id.Name == "subdirectives"
	}
	keys := func(lit *ast.CompositeLit) []string {
		var names []string
		for _, el := range lit.Elts {
			if kv, ok := el.(*ast.KeyValueExpr); ok {
				if s, ok := kv.Key.(*ast.BasicLit); ok {
					v, _ := strconv.Unquote(s.Value)
					names = append(names, v)
				}
			}
		}
		return names
	}
	// The methods that add to a table they are given: name -> what they add.
	adders := map[string][]string{}
	for _, f := range files {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				as, ok := n.(*ast.AssignStmt)
				if !ok || len(as.Lhs) != 1 {
					return true
				}
				if ix, ok := as.Lhs[0].(*ast.IndexExpr); ok {
					if s, ok := ix.Index.(*ast.BasicLit); ok && s.Kind == token.STRING {
						for _, p := range fn.Type.Params.List {
							if isTable(p.Type) {
								v, _ := strconv.Unquote(s.Value)
								adders[fn.Name.Name] = append(adders[fn.Name.Name], v)
							}
						}
					}
				}
				return true
			})
		}
	}
	tables := map[string][]string{}
	literals, placed := 0, 0
	for _, f := range files {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			vars := map[string][]string{}
			// tableOf resolves a readBlock call's table argument.
			var tableOf func(e ast.Expr) ([]string, bool)
			tableOf = func(e ast.Expr) ([]string, bool) {
				switch e := e.(type) {
				case *ast.CompositeLit:
					if isTable(e.Type) {
						placed++
						return keys(e), true
					}
				case *ast.Ident:
					names, ok := vars[e.Name]
					return names, ok
				case *ast.CallExpr: // a wrapper such as notingLines(..., subdirectives{...})
					for _, a := range e.Args {
						if names, ok := tableOf(a); ok {
							return names, true
						}
					}
				}
				return nil, false
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CompositeLit:
					if isTable(n.Type) {
						literals++
					}
				case *ast.AssignStmt:
					if len(n.Lhs) == 1 && len(n.Rhs) == 1 {
						if id, ok := n.Lhs[0].(*ast.Ident); ok {
							if lit, ok := n.Rhs[0].(*ast.CompositeLit); ok && isTable(lit.Type) {
								vars[id.Name] = keys(lit)
								placed++
							}
						}
					}
				case *ast.CallExpr:
					var name string
					switch fun := n.Fun.(type) {
					case *ast.Ident:
						name = fun.Name
					case *ast.SelectorExpr:
						name = fun.Sel.Name
					}
					if add, ok := adders[name]; ok {
						for _, a := range n.Args {
							if id, ok := a.(*ast.Ident); ok {
								if _, ok := vars[id.Name]; ok {
									vars[id.Name] = append(vars[id.Name], add...)
								}
							}
						}
					}
					if (name != "readBlock" && name != "readArglessBlock") || len(n.Args) < 3 {
						return true
					}
					var block string
					switch b := n.Args[1].(type) {
					case *ast.BasicLit:
						block, _ = strconv.Unquote(b.Value)
					case *ast.BinaryExpr: // directive+" redis"
						if s, ok := b.Y.(*ast.BasicLit); ok {
							v, _ := strconv.Unquote(s.Value)
							block = strings.TrimSpace(v)
						}
					default:
						return true // readArglessBlock's own call, with its parameters
					}
					names, ok := tableOf(n.Args[2])
					if !ok || block == "" {
						t.Fatalf("%s: a readBlock call whose block or table the test cannot read", fset.Position(n.Pos()))
					}
					tables[block] = append(tables[block], names...)
				}
				return true
			})
		}
	}
	if literals != placed {
		t.Fatalf("%d subdirectives tables in the source, %d placed in a block: teach subdirectiveTables the new form", literals, placed)
	}
	for block, names := range tables {
		slices.Sort(names)
		tables[block] = slices.Compact(names)
	}
	return tables
}

// referenceSections reads a reference document: for each section, named
// by the first `word` of its heading, the first `word` of every
// backquoted span in the first cell of its table rows.
func referenceSections(doc string) map[string][]string {
	sections := map[string][]string{}
	span := regexp.MustCompile("`([^`]+)`")
	var current string
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "#") {
			current = ""
			if m := span.FindStringSubmatch(line); m != nil {
				current = strings.Fields(m[1])[0]
			}
			continue
		}
		if current == "" || !strings.HasPrefix(line, "| ") {
			continue
		}
		cell, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " | ")
		for _, m := range span.FindAllStringSubmatch(cell, -1) {
			sections[current] = append(sections[current], strings.Fields(m[1])[0])
		}
	}
	return sections
}

// unlisted is what a block of tables takes that its section of doc does
// not list, as "block: subdirective".
func unlisted(tables map[string][]string, doc string) []string {
	sections := referenceSections(doc)
	var missing []string
	for _, block := range slices.Sorted(maps.Keys(tables)) {
		for _, name := range tables[block] {
			if !slices.Contains(sections[block], name) {
				missing = append(missing, block+": "+name)
			}
		}
	}
	return missing
}

// TestConfigReferenceListsEverySubdirective: docs/configuration.md has a
// row for every subdirective every block of the parser takes.
func TestConfigReferenceListsEverySubdirective(t *testing.T) {
	tables := subdirectiveTables(t)
	// The walk found the blocks it must (else it proves nothing).
	for _, block := range []string{"outstatic", "outstatic_relay", "project", "github", "github_app", "oidc", "email", "ai", "redis", "tls", "sentinel"} {
		if len(tables[block]) == 0 {
			t.Fatalf("the parser's tables have no block %q: %v", block, tables)
		}
	}
	if !slices.Contains(tables["outstatic"], "cache_ttl") || !slices.Contains(tables["outstatic"], "api_key") {
		t.Fatalf("the guard's table lacks the key check's subdirectives: %v", tables["outstatic"])
	}
	raw, err := os.ReadFile("docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for _, m := range unlisted(tables, doc) {
		t.Errorf("the parser takes %s, which docs/configuration.md does not list in that block's table", m)
	}
	// A row removed from the reference is seen.
	cut := regexp.MustCompile("(?m)^\\| `binding_ttl.*\n").ReplaceAllString(doc, "")
	if got := unlisted(tables, cut); !slices.Equal(got, []string{"outstatic: binding_ttl"}) {
		t.Errorf("without the guard's binding_ttl row the reference misses %v, want [outstatic: binding_ttl]", got)
	}
}

// errorCodes reads every error code of protocol/codes.go: the value of
// each Code* constant, and each string key of its maps (the OAuth errors
// a callback may carry).
func errorCodes(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "protocol/codes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			for i, name := range n.Names {
				if strings.HasPrefix(name.Name, "Code") && i < len(n.Values) {
					if s, ok := n.Values[i].(*ast.BasicLit); ok && s.Kind == token.STRING {
						v, _ := strconv.Unquote(s.Value)
						codes = append(codes, v)
					}
				}
			}
		case *ast.KeyValueExpr:
			if s, ok := n.Key.(*ast.BasicLit); ok && s.Kind == token.STRING {
				v, _ := strconv.Unquote(s.Value)
				codes = append(codes, v)
			}
		}
		return true
	})
	slices.Sort(codes)
	return slices.Compact(codes)
}

// TestTroubleshootingListsEveryCode: docs/troubleshooting.md has a row,
// `code` in its first cell, for every error code of protocol/codes.go.
func TestTroubleshootingListsEveryCode(t *testing.T) {
	codes := errorCodes(t)
	if len(codes) < 40 || !slices.Contains(codes, "github-relay-failed") || !slices.Contains(codes, "access_denied") {
		t.Fatalf("protocol/codes.go read as %v", codes)
	}
	raw, err := os.ReadFile("docs/troubleshooting.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	span := regexp.MustCompile("`([^`]+)`")
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cell, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " | ")
		for _, m := range span.FindAllStringSubmatch(cell, -1) {
			listed[m[1]] = true
		}
	}
	for _, c := range codes {
		if !listed[c] {
			t.Errorf("error code %q of protocol/codes.go has no row in docs/troubleshooting.md", c)
		}
	}
}

// TestContributingListsEveryPackage: CONTRIBUTING.md's tree has a line for
// every directory of this module that holds a Go package.
func TestContributingListsEveryPackage(t *testing.T) {
	raw, err := os.ReadFile("CONTRIBUTING.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasSuffix(f[0], "/") {
			listed[strings.TrimSuffix(f[0], "/")] = true
		}
	}
	found := 0
	err = filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			// other modules, fixtures, and what tools put here
			if path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" ||
				path == "e2e" || path == "bench" || path == "interop") {
				return filepath.SkipDir
			}
			return nil
		}
		if path == filepath.Base(path) || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if !listed[dir] {
			t.Errorf("package %s/ is not in CONTRIBUTING.md's tree", dir)
			listed[dir] = true // once
		}
		found++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 50 {
		t.Fatalf("found only %d Go files outside the root", found)
	}
}

// TestReadmeCaddyfileAdapts: the Caddyfile of README's "Set up your site"
// adapts with Caddy's adapter, to a guard and a native relay, and its
// secret stays a placeholder.
func TestReadmeCaddyfileAdapts(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```caddyfile\n(.*?)```").FindAllStringSubmatch(string(raw), -1)
	if len(blocks) != 1 {
		t.Fatalf("%d caddyfile blocks in README.md, want 1", len(blocks))
	}
	var text strings.Builder
	for _, line := range strings.Split(blocks[0][1], "\n") {
		text.WriteString(strings.TrimPrefix(line, "   ") + "\n")
	}
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(text.String()), nil)
	if err != nil {
		t.Fatalf("README's Caddyfile does not adapt: %v\n%s", err, text.String())
	}
	for _, want := range []string{`"handler":"outstatic"`, `"handler":"outstatic_relay"`, `"public_url":"https://blog.example.com/relay"`, `{env.GITHUB_CLIENT_SECRET}`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("README's Caddyfile adapts without %s: %s", want, out)
		}
	}
}

// TestReadmeFirstCommands: README's first code block is the two commands
// a newcomer runs, each a script of the repository, and CI runs the test
// command it names.
func TestReadmeFirstCommands(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	first := regexp.MustCompile("(?s)```[a-z]*\\n(.*?)```").FindStringSubmatch(string(raw))
	if first == nil {
		t.Fatal("README.md has no code block")
	}
	var commands []string
	for _, line := range strings.Split(strings.TrimSpace(first[1]), "\n") {
		cmd, _, _ := strings.Cut(line, "#")
		commands = append(commands, strings.Join(strings.Fields(cmd), " "))
	}
	if want := []string{"bash scripts/demo.sh", "bash scripts/test.sh"}; !slices.Equal(commands, want) {
		t.Fatalf("README's first code block runs %q, want %q", commands, want)
	}
	for _, script := range []string{"scripts/demo.sh", "scripts/test.sh"} {
		if _, err := os.Stat(script); err != nil {
			t.Errorf("README names %s: %v", script, err)
		}
	}
	ci, err := os.ReadFile(".ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^bash scripts/test\.sh$`).Match(ci) {
		t.Error(".ci/run does not run bash scripts/test.sh, the test command README names")
	}
}
