package gqlpolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// The JSON around a GraphQL document, read strictly for Check.

// gqlRequest is a GraphQL request as graphql-request sends it.
type gqlRequest struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables,omitempty"`
	OperationName string         `json:"operationName,omitempty"`
}

// decodeGraphQLRequest reads one request object strictly: no batch (a JSON
// array), no key but query, variables and operationName (exact case), no
// duplicate key at any depth, nothing after the object.
func decodeGraphQLRequest(body []byte) (gqlRequest, error) {
	var req gqlRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	val, err := strictValue(dec, 0)
	if err != nil {
		return req, refuse("body is not strict JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, refuse("body has data after the request")
	}
	obj, ok := val.(map[string]any)
	if !ok {
		return req, refuse("body is not one request object")
	}
	for k, v := range obj {
		switch k {
		case "query":
			if req.Query, ok = v.(string); !ok {
				return req, refuse("query is not a string")
			}
		case "variables":
			if v == nil {
				continue
			}
			if req.Variables, ok = v.(map[string]any); !ok {
				return req, refuse("variables is not an object")
			}
		case "operationName":
			if v == nil {
				continue
			}
			if req.OperationName, ok = v.(string); !ok {
				return req, refuse("operationName is not a string")
			}
		default:
			return req, refuse("unknown key %s in the request", quoteName(k))
		}
	}
	if req.Query == "" {
		return req, refuse("no query")
	}
	return req, nil
}

// strictValue reads one JSON value, refusing duplicate object keys.
func strictValue(dec *json.Decoder, depth int) (any, error) {
	if depth > 64 {
		return nil, errors.New("nested too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				if _, dup := obj[k]; dup {
					return nil, errors.New("duplicate key")
				}
				if obj[k], err = strictValue(dec, depth+1); err != nil {
					return nil, err
				}
			}
			_, err := dec.Token()
			return obj, err
		case '[':
			list := []any{}
			for dec.More() {
				v, err := strictValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			_, err := dec.Token()
			return list, err
		}
		return nil, errors.New("unexpected delimiter")
	default:
		return t, nil
	}
}

// adaptCreateBranch rewrites the dashboard's CreateBranch for GitHub. For
// sessions that did not log in with GitHub directly (every relay login),
// the stock dashboard sends the ref as branchName and the repository's name
// as name, expecting the service's parser to put the ref in name, where
// GitHub's createRef wants it. Any other body is passed on as it is.
func adaptCreateBranch(body []byte) []byte {
	var req map[string]json.RawMessage
	if json.Unmarshal(body, &req) != nil {
		return body
	}
	var query string
	if json.Unmarshal(req["query"], &query) != nil || !namesCreateRef(query) {
		return body
	}
	var vars map[string]json.RawMessage
	if json.Unmarshal(req["variables"], &vars) != nil {
		return body
	}
	var ref string
	if json.Unmarshal(vars["branchName"], &ref) != nil || !strings.HasPrefix(ref, "refs/heads/") {
		return body
	}
	vars["name"] = vars["branchName"]
	delete(vars, "branchName")
	delete(vars, "owner")
	req["variables"], _ = json.Marshal(vars)
	out, err := json.Marshal(req)
	if err != nil {
		return body
	}
	return out
}

// namesCreateRef tells the queries adaptCreateBranch may change.
func namesCreateRef(query string) bool { return strings.Contains(query, "createRef(") }
