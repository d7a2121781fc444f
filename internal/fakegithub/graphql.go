package fakegithub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// execution is one GraphQL request being answered.
type execution struct {
	s        *Server
	tok      *Token
	g        *gitRepo
	doc      *ast.QueryDocument
	op       *ast.OperationDefinition
	vars     map[string]any
	declared map[string]*ast.VariableDefinition
	used     map[string]bool
	errs     []gqlError
}

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

// execute answers a parsed request; s.mu is held, so the repository does
// not change under a request.
func (s *Server) execute(tok *Token, query string, provided map[string]any, opName string) *omap {
	e := &execution{s: s, tok: tok, g: s.git, vars: map[string]any{}, declared: map[string]*ast.VariableDefinition{}, used: map[string]bool{}}
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
	case e.op.Operation == ast.Subscription:
		return only(gqlError{Message: "Schema is not configured for subscriptions", Locations: []pos{at(e.op.Position)}})
	}
	root := map[ast.Operation]string{ast.Query: "Query", ast.Mutation: "Mutation"}[e.op.Operation]
	for _, d := range e.op.VariableDefinitions {
		e.declared[d.Variable] = d
	}
	e.validate(root, e.op.SelectionSet, 0)
	for _, d := range e.op.VariableDefinitions {
		if !e.used[d.Variable] {
			e.fail(d.Position, nil, "Variable $%s is declared by %s but not used", d.Variable, e.opLabel())
		}
	}
	if len(e.errs) > 0 {
		return only(e.errs...)
	}
	e.coerceVariables(provided)
	if len(e.errs) > 0 {
		return only(e.errs...)
	}
	if root == "Mutation" {
		if ge := e.mutationScopes(); ge != nil {
			return only(*ge)
		}
	}
	var data *omap
	if root == "Query" {
		data = e.selectObject(queryRoot{}, e.op.SelectionSet, nil)
	} else {
		data = e.selectObject(mutationRoot{}, e.op.SelectionSet, nil)
	}
	out.set("data", data)
	if len(e.errs) > 0 {
		out.set("errors", e.errs)
	}
	return out
}

// mutationScopes refuses a mutation when the token cannot write to the
// repository, with GitHub's INSUFFICIENT_SCOPES error.
func (e *execution) mutationScopes() *gqlError {
	need := []string{"repo"}
	if !e.g.Private {
		need = []string{"public_repo", "repo"}
	}
	if e.tok.hasScope(need...) {
		return nil
	}
	field := ""
	for _, s := range e.op.SelectionSet {
		if f, ok := s.(*ast.Field); ok {
			field = f.Name
			break
		}
	}
	quote := func(xs []string) string {
		q := make([]string, len(xs))
		for i, x := range xs {
			q[i] = "'" + x + "'"
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return &gqlError{Type: "INSUFFICIENT_SCOPES", Locations: []pos{at(e.op.Position)}, Message: fmt.Sprintf(
		"Your token has not been granted the required scopes to execute this query. The '%s' field requires one of the following scopes: %s, but your token has only been granted the: %s scopes. Please modify your token's scopes at: https://github.com/settings/tokens.",
		field, quote(need), quote(e.tok.Scopes))}
}

// coerceVariables checks the provided variables against the operation's
// declarations, as GitHub does before running anything.
func (e *execution) coerceVariables(provided map[string]any) {
	for _, d := range e.op.VariableDefinitions {
		typ := d.Type.String()
		v, present := provided[d.Variable]
		if !present && d.DefaultValue != nil {
			v = e.value(d.DefaultValue)
		}
		problem := ""
		base := strings.TrimSuffix(typ, "!")
		switch {
		case v == nil && d.Type.NonNull:
			problem = "Expected value to not be null"
		case v != nil && !scalarFits(base, v):
			raw, _ := json.Marshal(v)
			problem = fmt.Sprintf("Could not coerce value %s to %s", raw, base)
		}
		if problem != "" {
			e.errs = append(e.errs, gqlError{
				Extensions: map[string]any{"value": v, "problems": []map[string]any{{"path": []any{}, "explanation": problem}}},
				Locations:  []pos{at(d.Position)},
				Message:    fmt.Sprintf("Variable $%s of type %s was provided invalid value", d.Variable, typ)})
			continue
		}
		e.vars[d.Variable] = v
	}
}

// scalarFits checks a variable's value against a scalar type; input
// objects and lists are checked where they are used.
func scalarFits(typ string, v any) bool {
	switch typ {
	case "String", "GitObjectID", "URI", "GitRefname", "Base64String":
		_, ok := v.(string)
		return ok
	case "ID":
		switch v.(type) {
		case string, json.Number:
			return true
		}
		return false
	case "Int":
		_, ok := intValue(v)
		return ok
	case "Boolean":
		_, ok := v.(bool)
		return ok
	}
	return true
}

// intValue reads an integer from a JSON number or a literal.
func intValue(v any) (int, bool) {
	switch v := v.(type) {
	case int64:
		return int(v), true
	case json.Number:
		n, err := v.Int64()
		return int(n), err == nil
	case float64:
		return int(v), v == math.Trunc(v)
	}
	return 0, false
}
