package protocol

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	for path, want := range map[string]string{
		"/outstatic/project":              "project",
		"/github/parser":                  "parser",
		"/outstatic/media/a/b/main/x.png": "media",
		"/outstatic/auth/github/callback": "github-callback",
		"/outstatic/projectx":             "other",
		"/":                               "other",
	} {
		if got := Label(path); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
	labels := map[string]bool{}
	for _, e := range Endpoints {
		if labels[e.Label] {
			t.Errorf("label %s twice", e.Label)
		}
		labels[e.Label] = true
	}
}

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	_ = WriteError(w, 400, CodeInvalidCallbackDomain)
	if w.Body.String() != `{"error":"invalid-callback-domain"}` || w.Header().Get("X-Content-Type-Options") != "nosniff" ||
		w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v %q", w.Code, w.Header(), w.Body)
	}
}

func TestReadJSON(t *testing.T) {
	var v map[string]any
	if err := ReadJSON(strings.NewReader(" "), &v); err != ErrEmptyBody {
		t.Errorf("empty: %v", err)
	}
	if err := ReadJSON(strings.NewReader(`{"a":"`+strings.Repeat("x", MaxJSONBody)+`"}`), &v); err == nil {
		t.Error("a body over the limit was read")
	}
	if err := ReadJSON(strings.NewReader(`{"a":1}`), &v); err != nil || v["a"] != 1.0 {
		t.Errorf("%v %v", err, v)
	}
}
