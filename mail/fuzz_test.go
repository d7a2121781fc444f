package mail

import (
	"strings"
	"testing"
	"time"
)

// FuzzHeaders checks that nothing a caller can put in a recipient or a site
// name reaches a header with a line break.
func FuzzHeaders(f *testing.F) {
	f.Add("ann@example.org", "My Blog")
	f.Add("Ann <ann@example.org>\r\nBcc: eve@example.net", "Blog\nBcc: x")
	f.Add("=?utf-8?q?A=0D=0AB?= <ann@example.org>", "=?utf-8?q?=0A?=")
	f.Fuzz(func(t *testing.T, to, site string) {
		if a, err := parseAddress(to); err == nil {
			if strings.ContainsAny(a.String(), "\r\n") || strings.ContainsAny(a.Name+a.Address, "\r\n") {
				t.Fatalf("accepted %q as %q", to, a.String())
			}
		}
		m, err := LoginMessage(Login{To: to, Site: site, Link: testLink, ValidFor: time.Minute})
		if err != nil {
			return
		}
		if strings.ContainsAny(m.Subject, "\r\n") || strings.ContainsAny(m.To, "\r\n") {
			t.Fatalf("header with a line break: %q / %q", m.Subject, m.To)
		}
	})
}
