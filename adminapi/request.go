package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
)

// MaxRequest bounds the JSON body of a POST to the admin routes.
const MaxRequest = 64 << 10

// ReadRequest decodes the JSON body of a POST to the admin routes into v,
// a pointer to one of this package's request types, as one object whose
// keys are exactly v's field names, each at most once, and nothing after
// it. encoding/json alone would match "Role" or "ROLE" to role, keep the
// last of a key given twice and ignore what follows the object: a body
// read otherwise than it was written. The error names the key at fault,
// never a value.
func ReadRequest(body io.Reader, v any) error {
	data, err := io.ReadAll(io.LimitReader(body, MaxRequest+1))
	if err != nil {
		return err
	}
	if len(data) > MaxRequest {
		return fmt.Errorf("the body is over %d bytes", MaxRequest)
	}
	names := protocol.FieldNames(v)
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("the body is not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errors.New("the body is not a JSON object")
		}
		key, _ := tok.(string)
		switch {
		case !slices.Contains(names, key):
			return fmt.Errorf("unknown field %q", key)
		case seen[key]:
			return fmt.Errorf("field %q given twice", key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return errors.New("the body is not a JSON object")
		}
	}
	if _, err := dec.Token(); err != nil {
		return errors.New("the body is not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("the body has more than one JSON value")
	}
	strict := json.NewDecoder(bytes.NewReader(data))
	strict.DisallowUnknownFields()
	return strict.Decode(v)
}
