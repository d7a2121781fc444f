package gqlpolicy

import "testing"

func TestAddCoAuthor(t *testing.T) {
	const tr = "Co-authored-by: Ann Lee <ann@example.org>"
	for _, tc := range []struct {
		name, msg, who, email, want string
	}{
		{"subject only", "Update post", "Ann Lee", "ann@example.org", "Update post\n\n" + tr},
		{"subject and body", "Update post\n\nFixes typos.\n", "Ann Lee", "ann@example.org", "Update post\n\nFixes typos.\n\n" + tr},
		{"existing trailers", "Update post\n\nSigned-off-by: Bob <bob@example.org>", "Ann Lee", "ann@example.org",
			"Update post\n\nSigned-off-by: Bob <bob@example.org>\n" + tr},
		{"subject that looks like a trailer", "Fix: typo", "Ann Lee", "ann@example.org", "Fix: typo\n\n" + tr},
		{"no duplicate", "Update\n\n" + tr, "Ann Lee", "ann@example.org", "Update\n\n" + tr},
		{"no duplicate, other case and name", "Update\n\nco-authored-by: A. Lee <ANN@example.org>", "Ann Lee", "ann@example.org",
			"Update\n\nco-authored-by: A. Lee <ANN@example.org>"},
		// Look-alikes that strings.EqualFold takes for kim@sample.org (the
		// Kelvin sign is "k", the long s "s") credit someone else.
		{"a look-alike local part", "Update\n\nCo-authored-by: Kim <\u212Aim@sample.org>", "Kim", "kim@sample.org",
			"Update\n\nCo-authored-by: Kim <\u212Aim@sample.org>\nCo-authored-by: Kim <kim@sample.org>"},
		{"a look-alike domain", "Update\n\nCo-authored-by: Kim <kim@\u017Fample.org>", "Kim", "kim@sample.org",
			"Update\n\nCo-authored-by: Kim <kim@\u017Fample.org>\nCo-authored-by: Kim <kim@sample.org>"},
		{"no duplicate, ASCII case", "Update\n\nCo-authored-by: Kim <KIM@Sample.ORG>", "Kim", "kim@sample.org",
			"Update\n\nCo-authored-by: Kim <KIM@Sample.ORG>"},
		{"CRLF message", "Update\r\n\r\nBody\r\n", "Ann Lee", "ann@example.org", "Update\n\nBody\n\n" + tr},
		{"newline in name", "Update", "Ann\nSigned-off-by: Eve", "ann@example.org",
			"Update\n\nCo-authored-by: Ann Signed-off-by: Eve <ann@example.org>"},
		{"brackets and CR in name", "Update", "Ann <x@y.z>\r", "ann@example.org", "Update\n\nCo-authored-by: Ann x@y.z <ann@example.org>"},
		{"brackets and newline in email", "Update", "Ann Lee", "ann@example.org>\n<eve@example.net", "Update"},
		{"empty name", "Update", "", "ann@example.org", "Update\n\nCo-authored-by: ann@example.org <ann@example.org>"},
		{"no usable email", "Update", "Ann", "\n<>", "Update"},
	} {
		if got := AddCoAuthor(tc.msg, tc.who, tc.email); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestAddCoAuthorToBody(t *testing.T) {
	const tr = "Co-authored-by: Ann <ann@example.org>"
	for _, tc := range []struct{ name, body, want string }{
		{"empty body", "", tr},
		{"prose body", "Fixes typos.", "Fixes typos.\n\n" + tr},
		{"body of trailers", "Signed-off-by: Bob <bob@example.org>", "Signed-off-by: Bob <bob@example.org>\n" + tr},
		{"already there", tr + "\n", tr},
	} {
		if got := AddCoAuthorToBody(tc.body, "Ann", "ann@example.org"); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
