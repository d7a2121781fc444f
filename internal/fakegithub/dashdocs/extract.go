package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// version is the outstatic release the documents come from.
const version = "2.2.4"

// bundle is the dashboard's code in the package.
const bundle = "dist/client/client.mjs"

// variant is one shape of repository GetMultipleFileInformation is built
// for: the collections' folders and the singletons' files it asks about.
type variant struct {
	name       string
	paths      []string
	singletons []string
	// refused: GitHub's schema refuses the document built.
	refused bool
}

// variants covers every shape the builder has (the dashboard does not
// call it for a repository with neither collections nor singletons).
var variants = []variant{
	{name: "GetMultipleFileInformation", paths: []string{"outstatic/content/posts"},
		singletons: []string{"outstatic/content/_singletons/about.md"}},
	{name: "GetMultipleFileInformation/collections", paths: []string{"outstatic/content/posts", "outstatic/content/pages"}},
	{name: "GetMultipleFileInformation/several", paths: []string{"outstatic/content/posts", "outstatic/content/pages"},
		singletons: []string{"outstatic/content/_singletons/about.md", "outstatic/content/_singletons/home.mdx"}},
	// No collection: the fragments only the folders use are unused, and
	// GitHub refuses the whole document.
	{name: "GetMultipleFileInformation/singletons", singletons: []string{"outstatic/content/_singletons/about.md"}, refused: true},
}

const (
	acceptedNote = "The GraphQL documents the stock dashboard (npm outstatic " + version + ", " + bundle + ") sends to GitHub, " +
		"as graphql-request puts them on the wire: graphql-js print() of the bundle's DocumentNodes; " +
		"GetMultipleFileInformation is built as a string at run time from the repository's collections and singletons, " +
		"and sent as built (\"GetMultipleFileInformation\": one collection and one singleton, \"/collections\": collections only, " +
		"\"/several\": two of each). Made by internal/fakegithub/dashdocs; SOURCE.md says how."
	refusedNote = "Documents the stock dashboard (npm outstatic " + version + ") sends that GitHub's schema refuses: " +
		"GetMultipleFileInformation for a repository with singletons and no collection defines the fragments TreeDetails " +
		"and RecursiveTreeDetails without using them. Made by internal/fakegithub/dashdocs; SOURCE.md says how."
)

// extractFiles returns the two testdata files, by name, from the
// installed package at pkg.
func extractFiles(pkg string) (map[string][]byte, error) {
	docs, err := extract(pkg)
	if err != nil {
		return nil, err
	}
	accepted, refused := map[string]string{"_about": acceptedNote}, map[string]string{"_about": refusedNote}
	for name, text := range docs {
		accepted[name] = text
	}
	for _, v := range variants {
		if v.refused {
			refused[v.name] = accepted[v.name]
			delete(accepted, v.name)
		}
	}
	out := map[string][]byte{}
	for name, m := range map[string]map[string]string{"dashboard-queries.json": accepted, "dashboard-refused.json": refused} {
		b, err := orderedJSON(m)
		if err != nil {
			return nil, err
		}
		out[name] = b
	}
	return out, nil
}

// orderedJSON writes m as an indented JSON object, "_about" first, then
// the other keys in order.
func orderedJSON(m map[string]string) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "_about" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, k := range append([]string{"_about"}, keys...) {
		var kv bytes.Buffer
		enc := json.NewEncoder(&kv)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(k); err != nil {
			return nil, err
		}
		key := bytes.TrimSpace(kv.Bytes())
		kv.Reset()
		if err := enc.Encode(m[k]); err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "  %s: %s", key, bytes.TrimSpace(kv.Bytes()))
		if i < len(keys) {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// extract returns the dashboard's documents by operation name (the
// builder's variants by their names).
func extract(pkg string) (map[string]string, error) {
	abs, err := filepath.Abs(pkg)
	if err != nil {
		return nil, err
	}
	var meta struct{ Name, Version string }
	b, err := os.ReadFile(filepath.Join(abs, "package.json"))
	if err == nil {
		err = json.Unmarshal(b, &meta)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the package: %w", err)
	}
	if meta.Name != "outstatic" || meta.Version != version {
		return nil, fmt.Errorf("%s is %s %s, not outstatic %s", pkg, meta.Name, meta.Version, version)
	}
	src, err := os.ReadFile(filepath.Join(abs, bundle))
	if err != nil {
		return nil, err
	}
	literals, err := documentLiterals(string(src))
	if err != nil {
		return nil, err
	}
	builder, err := builderFunction(string(src), "query GetMultipleFileInformation(")
	if err != nil {
		return nil, err
	}
	return runNode(abs, literals, builder)
}

// documentLiterals finds the DocumentNode object literals in src.
func documentLiterals(src string) ([]string, error) {
	const open = `{kind:"Document",definitions:[`
	var out []string
	for i := 0; ; {
		j := strings.Index(src[i:], open)
		if j < 0 {
			break
		}
		start := i + j
		end, err := closing(src, start)
		if err != nil {
			return nil, err
		}
		out = append(out, src[start:end+1])
		i = end + 1
	}
	if len(out) == 0 {
		return nil, errors.New("no DocumentNode in the bundle")
	}
	return out, nil
}

// functionStart finds the start of a function declaration in minified
// code.
var functionStart = regexp.MustCompile(`function [A-Za-z_$][\w$]*\(\{`)

// builderFunction returns the source of the function declaration whose
// body holds marker.
func builderFunction(src, marker string) (string, error) {
	at := strings.Index(src, marker)
	if at < 0 || strings.Contains(src[at+1:], marker) {
		return "", fmt.Errorf("%q is not in the bundle exactly once", marker)
	}
	starts := functionStart.FindAllStringIndex(src[:at], -1)
	if len(starts) == 0 {
		return "", errors.New("no function before the builder's template")
	}
	start := starts[len(starts)-1][0]
	body := strings.Index(src[start:], "){") + start + 1
	end, err := closing(src, body)
	if err != nil {
		return "", err
	}
	if end < at {
		return "", errors.New("the builder's template is not inside the function found")
	}
	return src[start : end+1], nil
}

// closing returns the index of the brace that closes the one at
// src[open], skipping JavaScript strings and template literals (with
// their ${...} parts).
func closing(src string, open int) (int, error) {
	depth := 0
	var templates []int // brace depth at which each open ${ began
	inTemplate := func() bool { return len(templates) > 0 && templates[len(templates)-1] == depth }
	for i := open; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '"' || c == '\'':
			for i++; i < len(src) && src[i] != c; i++ {
				if src[i] == '\\' {
					i++
				}
			}
		case c == '`' || (c == '}' && inTemplate()):
			if c == '}' {
				templates = templates[:len(templates)-1]
			}
			// Template text up to its end or the next ${.
			for i++; i < len(src); i++ {
				if src[i] == '\\' {
					i++
				} else if src[i] == '`' {
					break
				} else if src[i] == '$' && i+1 < len(src) && src[i+1] == '{' {
					i++
					templates = append(templates, depth)
					break
				}
			}
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, errors.New("unbalanced braces in the bundle")
}

// node prints the DocumentNodes with the graphql-js graphql-request uses,
// and runs the builder for each variant.
const node = `
const {createRequire} = require("module");
const fromPackage = createRequire(process.argv[1] + "/package.json");
const fromRequest = createRequire(fromPackage.resolve("graphql-request"));
const {print} = fromRequest("graphql");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = {};
for (const literal of input.literals) {
  const doc = eval("(" + literal + ")");
  const op = doc.definitions.find((d) => d.kind === "OperationDefinition");
  const text = print(doc);
  if (op.name.value in out && out[op.name.value] !== text) throw new Error("two documents named " + op.name.value);
  out[op.name.value] = text;
}
const build = eval("(" + input.builder + ")");
for (const v of input.variants) out[v.name] = build({paths: v.paths, singletonPaths: v.singletons, branch: "main"});
process.stdout.write(JSON.stringify(out));
`

func runNode(pkg string, literals []string, builder string) (map[string]string, error) {
	type nodeVariant struct {
		Name       string   `json:"name"`
		Paths      []string `json:"paths"`
		Singletons []string `json:"singletons"`
	}
	in := struct {
		Literals []string      `json:"literals"`
		Builder  string        `json:"builder"`
		Variants []nodeVariant `json:"variants"`
	}{Literals: literals, Builder: builder}
	for _, v := range variants {
		in.Variants = append(in.Variants, nodeVariant{v.name, append([]string{}, v.paths...), append([]string{}, v.singletons...)})
	}
	stdin, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("node", "-e", node, pkg)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("node: %w: %s", err, stderr.String())
	}
	out := map[string]string{}
	if err := json.Unmarshal(stdout, &out); err != nil {
		return nil, err
	}
	for _, v := range variants {
		if out[v.name] == "" {
			return nil, fmt.Errorf("the builder gave nothing for %s", v.name)
		}
	}
	return out, nil
}
