package gqlpolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
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
// duplicate key at any depth, no text that is not UTF-8 (nor an escape
// that is no code point), nothing after the object. The tokens are read by
// the JSON v2 tokenizer (jsontext), which refuses the duplicates and the
// invalid text itself; numbers stay as written (json.Number).
func decodeGraphQLRequest(body []byte) (gqlRequest, error) {
	var req gqlRequest
	dec := jsontext.NewDecoder(bytes.NewBuffer(body))
	val, err := strictValue(dec)
	if err != nil {
		return req, refuse("body is not strict JSON: %v", strictError(err))
	}
	if _, err := dec.ReadToken(); err != io.EOF {
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

// maxRequestDepth bounds the nesting of a request's JSON.
const maxRequestDepth = 64

var errTooDeep = errors.New("nested too deep")

// strictValue reads one JSON value as encoding/json with UseNumber would
// decode it into an any.
func strictValue(dec *jsontext.Decoder) (any, error) {
	if dec.StackDepth() > maxRequestDepth {
		return nil, errTooDeep
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '{':
		obj := map[string]any{}
		for dec.PeekKind() != '}' {
			name, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			if obj[name.String()], err = strictValue(dec); err != nil {
				return nil, err
			}
		}
		_, err := dec.ReadToken()
		return obj, err
	case '[':
		list := []any{}
		for dec.PeekKind() != ']' {
			v, err := strictValue(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err := dec.ReadToken()
		return list, err
	case '"':
		return tok.String(), nil
	case '0':
		return json.Number(tok.String()), nil
	case 't', 'f':
		return tok.Bool(), nil
	default: // 'n'
		return nil, nil
	}
}

// strictError names a tokenizer's error by its class: its own text may
// quote the body.
func strictError(err error) error {
	switch {
	case errors.Is(err, errTooDeep):
		return err
	case errors.Is(err, jsontext.ErrDuplicateName):
		return errors.New("duplicate key")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errors.New("the body ends early")
	}
	return errors.New("not JSON as written")
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
