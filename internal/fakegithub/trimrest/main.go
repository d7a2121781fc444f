// Command trimrest cuts GitHub's REST OpenAPI description (the
// dereferenced api.github.com.deref.json of the npm package
// @octokit/openapi) down to the operations the fake GitHub serves, for
// the fake's tests to check its replies against. It keeps each
// operation's parameters, request body and responses whole, and drops
// only what validation never reads: prose (description and summary
// strings), examples, externalDocs and GitHub's x- annotations, and the
// components, which the dereferenced file has inlined already.
//
//	go run ./internal/fakegithub/trimrest api.github.com.deref.json > testdata/github-rest/api.github.com.json
//
// testdata/github-rest/SOURCE.md says where the input comes from.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// served are the operations of internal/fakegithub, "METHOD path" as the
// description names them.
var served = []string{
	"GET /user",
	"GET /user/emails",
	"GET /repos/{owner}/{repo}",
	"GET /repos/{owner}/{repo}/collaborators/{username}",
	"GET /repos/{owner}/{repo}/contents/{path}",
	"GET /repos/{owner}/{repo}/git/trees/{tree_sha}",
	"GET /repos/{owner}/{repo}/installation",
	"POST /app/installations/{installation_id}/access_tokens",
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: trimrest api.github.com.deref.json > trimmed.json")
		os.Exit(2)
	}
	out, err := trim(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "trimrest:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}

func trim(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	paths, _ := doc["paths"].(map[string]any)
	kept := map[string]any{}
	for _, op := range served {
		method, p, _ := strings.Cut(op, " ")
		item, _ := paths[p].(map[string]any)
		operation, ok := item[strings.ToLower(method)]
		if !ok {
			return nil, fmt.Errorf("the description has no %s", op)
		}
		k, _ := kept[p].(map[string]any)
		if k == nil {
			k = map[string]any{}
			if params, ok := item["parameters"]; ok {
				k["parameters"] = params
			}
			kept[p] = k
		}
		k[strings.ToLower(method)] = operation
	}
	info, _ := doc["info"].(map[string]any)
	out := map[string]any{
		"openapi": doc["openapi"],
		"info":    map[string]any{"title": info["title"], "version": info["version"]},
		"servers": doc["servers"],
		"paths":   strip(kept, false),
	}
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return nil, err
	}
	if strings.Contains(string(b), `"$ref"`) {
		return nil, fmt.Errorf("the kept operations still hold a $ref: give the dereferenced file")
	}
	return append(b, '\n'), nil
}

// strip drops the annotations from v. Where v is a map whose keys are
// names (a schema's properties: a repository has a "description"; the
// responses of an operation, by status), every key is kept; a response
// keeps its description, which OpenAPI requires.
func strip(v any, names bool) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range v {
			if names {
				out[k] = stripResponse(val, k)
				continue
			}
			if dropped(k, val) {
				continue
			}
			out[k] = strip(val, k == "properties" || k == "patternProperties" || k == "responses")
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, val := range v {
			out[i] = strip(val, false)
		}
		return out
	}
	return v
}

// stripResponse strips val, a named entry; one named by a status code
// is a response, whose description stays.
func stripResponse(val any, name string) any {
	r, isMap := val.(map[string]any)
	d, hasDescription := r["description"].(string)
	out := strip(val, false)
	if isMap && hasDescription && (name == "default" || len(name) == 3 && strings.Trim(name, "0123456789X") == "") {
		out.(map[string]any)["description"] = d
	}
	return out
}

// dropped reports whether key k (with value v) is an annotation.
func dropped(k string, v any) bool {
	switch k {
	case "description", "summary", "title":
		_, prose := v.(string)
		return prose
	case "example", "examples", "externalDocs":
		return true
	}
	return strings.HasPrefix(k, "x-")
}
