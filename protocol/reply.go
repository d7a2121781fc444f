package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// WriteJSON answers with v as JSON: never cached (replies carry tokens and
// verdicts), never sniffed as anything but JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	jsonHeader(w.Header())
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// WriteJSONBytes answers with body, JSON encoded already, with WriteJSON's
// headers: for a reply that is the same for every call (the native key
// check), encoded once.
func WriteJSONBytes(w http.ResponseWriter, status int, body []byte) error {
	jsonHeader(w.Header())
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

// WriteError answers with {"error": code}, the shape the stock client
// parses, exactly (no trailing newline). Refusals are written rather than
// returned as Caddy errors, whose body handle_errors would decide.
func WriteError(w http.ResponseWriter, status int, code string) error {
	body := errorBody(code)
	jsonHeader(w.Header())
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

// errorBody is {"error": code} as encoding/json writes it: spelled out for
// a code of printable ASCII that JSON writes as it is (every code the
// protocol has), encoded otherwise. A refusal is the commonest reply a
// flood gets.
func errorBody(code string) []byte {
	for i := 0; i < len(code); i++ {
		switch c := code[i]; {
		case c < 0x20, c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			body, _ := json.Marshal(struct {
				Error string `json:"error"`
			}{code})
			return body
		}
	}
	body := make([]byte, 0, len(`{"error":""}`)+len(code))
	return append(append(append(body, `{"error":"`...), code...), `"}`...)
}

func jsonHeader(h http.Header) {
	// By their canonical names, the values in one slice of the reply's
	// own (a later handler may rewrite a value in place).
	vals := []string{"application/json", "no-store", "nosniff"}
	h["Content-Type"] = vals[0:1:1]
	h["Cache-Control"] = vals[1:2:2]
	h["X-Content-Type-Options"] = vals[2:3:3]
}

// MaxJSONBody bounds the JSON bodies of the protocol's small calls (login
// starts, exchanges, refreshes, key checks): a few hundred bytes in
// practice. Bodies that carry content (the parser's GraphQL, AI prompts,
// forwarded calls) have their own limits.
const MaxJSONBody = 64 << 10

// ErrEmptyBody is ReadJSON's error for a body with nothing but space: a
// caller for which an empty body means an empty object checks for it.
var ErrEmptyBody = errors.New("empty body")

// ReadJSON decodes a JSON body of at most MaxJSONBody bytes into v, read
// one way only (DecodeJSON).
func ReadJSON(body io.Reader, v any) error {
	data, err := io.ReadAll(io.LimitReader(body, MaxJSONBody+1))
	if err != nil {
		return err
	}
	if len(data) > MaxJSONBody {
		return fmt.Errorf("body over %d bytes", MaxJSONBody)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return ErrEmptyBody
	}
	return DecodeJSON(data, v)
}
