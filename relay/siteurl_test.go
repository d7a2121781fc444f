package relay

import "testing"

func TestSiteReturnURL(t *testing.T) {
	for _, tc := range []struct{ checked, callback, want string }{
		// the stock site names its listen address: the checked path and
		// query go back on it, where the site follows them
		{"https://blog.example.com/outstatic/collections?x=1", "http://localhost:3000/api/outstatic/magic-link-callback",
			"http://localhost:3000/outstatic/collections?x=1"},
		// a site that names its public origin gets it back as checked
		{"https://blog.example.com/outstatic", "https://blog.example.com/outstatic/api/outstatic/callback", "https://blog.example.com/outstatic"},
		// a callback that is no absolute http(s) URL changes nothing
		{"https://blog.example.com/outstatic", "javascript:alert(1)", "https://blog.example.com/outstatic"},
		{"https://blog.example.com/outstatic", "/api/outstatic/callback", "https://blog.example.com/outstatic"},
	} {
		if got := SiteReturnURL(tc.checked, tc.callback); got != tc.want {
			t.Errorf("SiteReturnURL(%q, %q) = %q, want %q", tc.checked, tc.callback, got, tc.want)
		}
	}
}
