package protocol

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestErrorBodyAsEncodingJSON: a refusal's body is the bytes encoding/json
// writes for {"error": code}, for the protocol's codes and for text that
// JSON escapes (quotes, backslashes, HTML characters, controls, non-ASCII,
// invalid UTF-8).
func TestErrorBodyAsEncodingJSON(t *testing.T) {
	codes := []string{CodeInvalidAPIKey, CodeInvalidAPIKeyMagic, CodeSiteInvalidURL, CodeSessionError, "",
		`a"b`, `a\b`, "<script>", "a&b", "tab\there", "line\nbreak", "\x7f", "café", "\xff\xfe", "\u2028"}
	for _, code := range codes {
		want, _ := json.Marshal(struct {
			Error string `json:"error"`
		}{code})
		if got := errorBody(code); !bytes.Equal(got, want) {
			t.Errorf("%q: %s, want %s", code, got, want)
		}
	}
}

// FuzzErrorBody holds errorBody to encoding/json for any text.
func FuzzErrorBody(f *testing.F) {
	f.Add(CodeInvalidAPIKey)
	f.Add(`"<&>\`)
	f.Fuzz(func(t *testing.T, code string) {
		want, _ := json.Marshal(struct {
			Error string `json:"error"`
		}{code})
		if got := errorBody(code); !bytes.Equal(got, want) {
			t.Fatalf("%q: %s, want %s", code, got, want)
		}
	})
}
