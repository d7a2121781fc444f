package relay

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// The JSON around a GraphQL document, read strictly for checkGraphQL.

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
