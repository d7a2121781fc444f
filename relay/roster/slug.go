package roster

import (
	"errors"
	"fmt"
	"strings"
)

// MaxSlug is the longest project slug.
const MaxSlug = 64

// CheckSlug is the one rule of a project slug, for every door that names
// a project (JSON, the Caddyfile, the admin API and CLI, the Projects
// page, New): 1 to
// MaxSlug lowercase ASCII letters, digits, '-' and '_', the first a letter
// or a digit.
//
// The slug names the project's store records (names.go): keys/<slug>,
// locks/keys/<slug>, members/<slug>, locks/members/<slug>,
// origins/<slug>, locks/origins/<slug>, and the lists invites/<slug>/ and
// auditlog/<slug>/; and the key of the stored projects' record. With no
// '/' or '.' in a slug, no slug's records
// lie under another's, and a listing by one of those prefixes, which ends
// with '/', never returns another project's ("blog" does not list
// "blog-x"'s, and there is no "blog/x"). With no capitals, two projects
// never share a file on a case-insensitive file system (Caddy's file
// storage on macOS or Windows). The names are those the relay always used,
// so a slug that was valid before keeps its records.
func CheckSlug(slug string) error {
	ok := slug != "" && len(slug) <= MaxSlug
	for i := 0; ok && i < len(slug); i++ {
		c := slug[i]
		ok = 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || i > 0 && (c == '-' || c == '_')
	}
	if ok {
		return nil
	}
	msg := fmt.Sprintf("project slug %q: use 1 to %d lowercase letters, digits, '-' and '_', starting with a letter or digit", slug, MaxSlug)
	if s := suggestSlug(slug); s != "" {
		msg += fmt.Sprintf(" (e.g. %q)", s)
	}
	return errors.New(msg)
}

// suggestSlug is the nearest valid slug to s: ASCII letters lowercased,
// every run of other characters one '-', trimmed to MaxSlug; "" when
// nothing of s is left.
func suggestSlug(s string) string {
	var b strings.Builder
	dash := false
	for i := 0; i < len(s) && b.Len() < MaxSlug; i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_' && b.Len() > 0:
		default:
			dash = b.Len() > 0
			continue
		}
		if dash && b.Len() < MaxSlug-1 {
			b.WriteByte('-')
		}
		dash = false
		b.WriteByte(c)
	}
	return b.String()
}
