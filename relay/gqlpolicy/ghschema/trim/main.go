// Command trim cuts GitHub's public GraphQL schema down to the part this
// project uses, for the ghschema package.
//
// It reads the SDL that the npm package @octokit/graphql-schema ships
// (schema.graphql) and GraphQL documents that say what is used: the stock
// dashboard's, and the relay's own (keep.graphql beside this file). Each
// document must validate against GitHub's whole schema. The result keeps
// the fields those documents select, every argument of those fields, and
// every input type and enum those arguments reach, whole; trim.go lists
// the rules. Run it from the repository's root; SOURCE.md in the package
// above has the exact command.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// header opens the written schema.
const header = `# GitHub's public GraphQL schema, cut by relay/gqlpolicy/ghschema/trim to
# what the dashboard and the relay use. Do not edit: SOURCE.md beside it
# says where it comes from and how to make it again.

`

// keepFiles is a repeatable flag of document files.
type keepFiles []string

func (k *keepFiles) String() string     { return strings.Join(*k, ",") }
func (k *keepFiles) Set(v string) error { *k = append(*k, v); return nil }

func main() {
	github := flag.String("github", "", "GitHub's schema.graphql, from the npm package @octokit/graphql-schema (required)")
	out := flag.String("o", "relay/gqlpolicy/ghschema/schema.graphql", "where to write the cut schema")
	var keep keepFiles
	flag.Var(&keep, "keep", "a file of documents whose fields are kept: .graphql, or .json mapping names to documents (repeatable; default: the dashboard's and relay/gqlpolicy/ghschema/trim/keep.graphql)")
	flag.Parse()
	if *github == "" {
		fmt.Fprintln(os.Stderr, "trim: -github is required")
		flag.Usage()
		os.Exit(2)
	}
	if len(keep) == 0 {
		keep = keepFiles{"internal/fakegithub/testdata/dashboard-queries.json", "relay/gqlpolicy/ghschema/trim/keep.graphql"}
	}
	if err := run(*github, *out, keep); err != nil {
		fmt.Fprintln(os.Stderr, "trim:", err)
		os.Exit(1)
	}
}

func run(githubPath, outPath string, keep []string) error {
	sdl, err := os.ReadFile(githubPath)
	if err != nil {
		return err
	}
	var docs []document
	for _, path := range keep {
		d, err := readDocuments(path)
		if err != nil {
			return err
		}
		docs = append(docs, d...)
	}
	trimmed, dropped, err := trimSchema(string(sdl), docs)
	if err != nil {
		return err
	}
	for _, f := range dropped {
		fmt.Fprintf(os.Stderr, "trim: dropped the repeated declaration of %s\n", f)
	}
	return os.WriteFile(outPath, []byte(header+trimmed), 0o644)
}

// readDocuments reads a .graphql file as one document, or a .json object
// of name → document (keys starting with "_" are notes, skipped).
func readDocuments(path string) ([]document, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if filepath.Ext(path) != ".json" {
		return []document{{name: path, text: string(b)}}, nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var docs []document
	for name, text := range m {
		if !strings.HasPrefix(name, "_") {
			docs = append(docs, document{name: path + ": " + name, text: text})
		}
	}
	slices.SortFunc(docs, func(a, b document) int { return strings.Compare(a.name, b.name) })
	return docs, nil
}
