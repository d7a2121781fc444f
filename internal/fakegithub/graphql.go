package fakegithub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/caddy-outstatic/caddy-outstatic/relay/gqlpolicy/ghschema"
)

// graphql is POST {graphql}: the caller's token is required, and every
// answer to a well-formed request is 200, errors included, as on GitHub.
func (s *Server) graphql(w http.ResponseWriter, r *http.Request, body []byte) {
	apiHeaders(w, "graphql")
	if r.Method == http.MethodOptions {
		preflight(w)
		return
	}
	if r.Method != http.MethodPost {
		apiError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/graphql")
		return
	}
	tok, sent := s.authenticate(r)
	if !sent {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "This endpoint requires you to be authenticated.",
			"documentation_url": "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"})
		return
	}
	if tok == nil {
		apiError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/graphql")
		return
	}
	w.Header().Set("X-OAuth-Scopes", strings.Join(tok.Scopes, ", "))
	var req struct {
		Query         any `json:"query"`
		Variables     any `json:"variables"`
		OperationName any `json:"operationName"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "Problems parsing JSON", "https://docs.github.com/graphql")
		return
	}
	query, ok := req.Query.(string)
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []gqlError{{Message: "A query attribute must be specified and must be a string."}}})
		return
	}
	vars, ok := decodeVariables(req.Variables)
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []gqlError{{Message: "Variables are invalid JSON."}}})
		return
	}
	opName, _ := req.OperationName.(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.execute(tok, query, vars, opName))
}

// decodeVariables accepts an object, null, or an object encoded as a JSON
// string (graphql-ruby takes all three).
func decodeVariables(v any) (map[string]any, bool) {
	switch v := v.(type) {
	case nil:
		return map[string]any{}, true
	case map[string]any:
		return v, true
	case string:
		if strings.TrimSpace(v) == "" {
			return map[string]any{}, true
		}
		var out map[string]any
		dec := json.NewDecoder(strings.NewReader(v))
		dec.UseNumber()
		if dec.Decode(&out) != nil {
			return nil, false
		}
		if out == nil {
			out = map[string]any{}
		}
		return out, true
	}
	return nil, false
}

// describeCall reads a GraphQL request body for the request log.
func describeCall(body []byte) *GraphQLCall {
	var req struct {
		Query         string         `json:"query"`
		Variables     map[string]any `json:"variables"`
		OperationName string         `json:"operationName"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	_ = dec.Decode(&req)
	c := &GraphQLCall{OperationName: req.OperationName, Query: req.Query, Variables: req.Variables}
	if c.OperationName == "" {
		if doc, err := parseDocument(req.Query); err == nil && len(doc.Operations) == 1 {
			c.OperationName = doc.Operations[0].Name
		}
	}
	return c
}

// execute answers a request; s.mu is held, so the repository does not
// change under it. The steps are GitHub's: parse, validate the whole
// document against the schema, pick the operation, coerce its variables,
// apply GitHub's own rules (scopes, pagination), then run it.
func (s *Server) execute(tok *Token, query string, provided map[string]any, opName string) *omap {
	e := &execution{s: s, tok: tok, g: s.git, schema: ghschema.Schema()}
	out := &omap{}
	only := func(errs ...gqlError) *omap {
		out.set("errors", errs)
		return out
	}
	doc, perr := parseDocument(query)
	if perr != nil {
		return only(*perr)
	}
	e.doc = doc
	if errs := validateDocument(e.schema, doc); len(errs) > 0 {
		return only(errs...)
	}
	for _, op := range doc.Operations {
		if op.Name == opName || (opName == "" && len(doc.Operations) == 1) {
			e.op = op
		}
	}
	switch {
	case e.op == nil && opName != "":
		return only(gqlError{Message: fmt.Sprintf("No operation named %q", opName)})
	case e.op == nil:
		return only(gqlError{Message: "An operation name is required"})
	}
	vars, verr := coerceVariables(e.schema, e.op, provided)
	if verr != nil {
		return only(*verr)
	}
	e.vars = vars
	if e.op.Operation == ast.Mutation {
		if ge := e.mutationScopes(); ge != nil {
			return only(*ge)
		}
	}
	if errs := e.paginationErrors(); len(errs) > 0 {
		return only(errs...)
	}
	var root gqlObject = queryRoot{}
	if e.op.Operation == ast.Mutation {
		root = mutationRoot{}
	}
	out.set("data", e.run(root))
	if len(e.errs) > 0 {
		out.set("errors", e.errs)
	}
	return out
}
