// Command dashdocs extracts the GraphQL documents the stock Outstatic
// dashboard (npm outstatic 2.2.4) sends to GitHub, from the installed
// package, into internal/fakegithub/testdata: dashboard-queries.json (the
// documents GitHub accepts) and dashboard-refused.json (the ones GitHub's
// schema refuses). SOURCE.md there says how they are made.
//
// The dashboard's fixed documents are graphql-codegen DocumentNodes in
// dist/client/client.mjs, which graphql-request puts on the wire with
// graphql-js's print(); GetMultipleFileInformation is a string built at
// run time from the collections and singletons the repository has. This
// program finds both in the bundle and has Node.js, with the package's
// own graphql-js, print the former and run the builder for each shape of
// repository (extract.go). Run it from the repository's root after
// `bash scripts/e2e.sh` (or `npm ci` in testdata/stock-site) installed the
// package:
//
//	go run ./internal/fakegithub/dashdocs
//
// With -check it writes nothing and fails if the committed files differ
// from what the package gives.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	pkg := flag.String("package", "testdata/stock-site/node_modules/outstatic", "the installed outstatic package")
	out := flag.String("o", "internal/fakegithub/testdata", "the folder to write dashboard-queries.json and dashboard-refused.json in")
	check := flag.Bool("check", false, "compare with the files in -o instead of writing them")
	flag.Parse()
	files, err := extractFiles(*pkg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dashdocs:", err)
		os.Exit(1)
	}
	for name, content := range files {
		path := filepath.Join(*out, name)
		if *check {
			have, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(have, content) {
				fmt.Fprintf(os.Stderr, "dashdocs: %s is not what the package gives; run go run ./internal/fakegithub/dashdocs\n", path)
				os.Exit(1)
			}
			continue
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "dashdocs:", err)
			os.Exit(1)
		}
	}
}
