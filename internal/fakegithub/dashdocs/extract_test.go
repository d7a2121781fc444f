package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The committed documents are what the installed package gives. The
// package is there once bash scripts/e2e.sh (or npm ci in
// testdata/stock-site) has run; scripts/e2e.sh runs the same comparison
// (dashdocs -check) right after installing it, so a run of the browser
// suite always checks.
func TestCommittedFilesAreThePackages(t *testing.T) {
	pkg := "../../../testdata/stock-site/node_modules/outstatic"
	if _, err := os.Stat(filepath.Join(pkg, "package.json")); err != nil {
		t.Skip("outstatic is not installed in testdata/stock-site (bash scripts/e2e.sh installs it and runs the same check)")
	}
	files, err := extractFiles(pkg)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("files %v", len(files))
	}
	for name, want := range files {
		have, err := os.ReadFile(filepath.Join("../testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(have, want) {
			t.Errorf("testdata/%s is not what the package gives; run go run ./internal/fakegithub/dashdocs", name)
		}
	}
}

// closing skips strings and template literals, with their ${...} parts.
func TestClosing(t *testing.T) {
	for _, src := range []string{
		`{a:"}",b:'{'}`,
		"{return`x${a.map(s=>`${s}}`)}{`}",
		"{let r=`\n  ${e.map((s,i)=>`f${i}: o(\"${s}\") {}`).join(`\n`)}\n`;return r}",
		`{a:{b:{c:"\"}"}}}`,
	} {
		end, err := closing(src+"tail", 0)
		if err != nil || end != len(src)-1 {
			t.Errorf("%q: %d %v", src, end, err)
		}
	}
	if _, err := closing(`{a:"}"`, 0); err == nil {
		t.Error("an unclosed brace was accepted")
	}
}

// The builder is the declared function around the marker, whole; a marker
// outside any function, or found twice, is an error.
func TestBuilderFunction(t *testing.T) {
	src := "var x=1;function aa({p:e}){return 1}function qg({paths:e,singletonPaths:t=[]}){let r=e.map(s=>`\n f: ${s} {}`);" +
		"return`\n query Marked(${t}) { ${r.join(`\n`)} }`}var y=2;"
	got, err := builderFunction(src, "query Marked(")
	if err != nil || !strings.HasPrefix(got, "function qg(") || !strings.HasSuffix(got, "}`}") {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := builderFunction(src+src, "query Marked("); err == nil {
		t.Error("a marker found twice was accepted")
	}
	if _, err := builderFunction("var q=`query Marked(`", "query Marked("); err == nil {
		t.Error("a marker outside a function was accepted")
	}
}
