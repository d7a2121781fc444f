package interop

import (
	"encoding/json"
	"testing"
)

// jsonField is the string field name of the JSON object body ("" if it
// has none).
func jsonField(t *testing.T, body, name string) string {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		return ""
	}
	s, _ := out[name].(string)
	return s
}
