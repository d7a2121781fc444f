package guard

import (
	"net/http"
	"testing"
)

func TestLocationFix(t *testing.T) {
	f := LocationFix{appHosts: []string{"localhost:3000"}, publicSite: "https://blog.example.com"}
	for loc, want := range map[string]string{
		"http://localhost:3000/outstatic?error=x": "https://blog.example.com/outstatic?error=x",
		"HTTPS://LocalHost:3000":                  "https://blog.example.com",
		"http://localhost:3000#frag":              "https://blog.example.com#frag",
		"http://localhost:3001/outstatic":         "http://localhost:3001/outstatic",
		"http://localhost:3000@evil.example/":     "http://localhost:3000@evil.example/",
		"/outstatic":                              "/outstatic",
		"https://evil.example/":                   "https://evil.example/",
	} {
		h := http.Header{"Location": {loc}}
		f.Apply(h)
		if got := h.Get("Location"); got != want {
			t.Errorf("%s: %s, want %s", loc, got, want)
		}
	}
	if (LocationFix{}).Matched() {
		t.Error("the zero fix matched")
	}
}
