package gqlpolicy

import (
	"strings"
	"testing"
)

// FuzzAddCoAuthor checks that whatever a login supplies as name and e-mail
// adds at most one well-formed trailer line and nothing else.
func FuzzAddCoAuthor(f *testing.F) {
	f.Add("Update post\n\nBody", "Ann", "ann@example.org")
	f.Add("Fix: x", "A\r\nSigned-off-by: Eve <e@x.y>", "a@b.c>\n<d@e.f")
	f.Fuzz(func(t *testing.T, msg, name, email string) {
		tr, ok := CoAuthorTrailer(name, email)
		if !ok {
			return
		}
		if strings.ContainsAny(tr, "\r\n\u2028\u2029\u0085") || strings.Count(tr, "<") != 1 || strings.Count(tr, ">") != 1 || !strings.HasSuffix(tr, ">") {
			t.Fatalf("bad trailer %q", tr)
		}
		out := AddCoAuthor(msg, name, email)
		base := strings.TrimRight(strings.ReplaceAll(msg, "\r\n", "\n"), " \t\n")
		if out != base && out != base+"\n"+tr && out != base+"\n\n"+tr && out != tr {
			t.Fatalf("AddCoAuthor(%q) = %q", msg, out)
		}
	})
}
