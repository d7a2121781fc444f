package gqlpolicy

import (
	"net/mail"
	"regexp"
	"strings"

	"github.com/caddy-outstatic/caddy-outstatic/identity"
)

// A commit made with the App's token is authored by the App's bot; the
// relay credits the person by appending a Co-authored-by trailer, which
// GitHub shows as a co-author. Name and e-mail come from a login, so they
// are neutralised: a newline would forge further trailers or paragraphs,
// and angle brackets would break the "Name <email>" form.

// trailerLine matches a git trailer line ("Token: value").
var trailerLine = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*: \S`)

// CoAuthorTrailer returns "Co-authored-by: Name <email>", with CR, LF and
// angle brackets removed from both and whitespace collapsed; ok is false
// when what remains of the e-mail is not one plain address. An empty name becomes the e-mail.
func CoAuthorTrailer(name, email string) (trailer string, ok bool) {
	clean := func(s string) string {
		s = strings.Map(func(r rune) rune {
			switch {
			case r == '<' || r == '>':
				return -1
			case r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\u0085':
				return ' '
			}
			return r
		}, s)
		return strings.Join(strings.Fields(s), " ")
	}
	email = strings.ReplaceAll(clean(email), " ", "")
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || strings.Count(email, "@") != 1 {
		return "", false
	}
	name = clean(name)
	if name == "" {
		name = email
	}
	return "Co-authored-by: " + name + " <" + email + ">", true
}

// AddCoAuthor appends a Co-authored-by trailer to a full commit message,
// whose first paragraph is the subject (never taken for trailers): after a
// blank line, or as one more line of a final trailer block; not at all if
// that block already credits the same e-mail. CRLF becomes LF and trailing
// whitespace goes, as git would store it. See AddCoAuthorToBody for
// createCommitOnBranch's message.body.
func AddCoAuthor(message, name, email string) string {
	return addTrailer(message, name, email, true)
}

// AddCoAuthorToBody appends a Co-authored-by trailer to the body of a
// commit message whose headline is kept apart (createCommitOnBranch's
// message.body): git joins headline and body with a blank line, so an
// empty body becomes the trailer alone.
func AddCoAuthorToBody(body, name, email string) string {
	return addTrailer(body, name, email, false)
}

func addTrailer(msg, name, email string, hasSubject bool) string {
	trailer, ok := CoAuthorTrailer(name, email)
	if !ok {
		return msg
	}
	msg = strings.ReplaceAll(msg, "\r\n", "\n")
	msg = strings.TrimRight(msg, " \t\n")
	if msg == "" {
		return trailer
	}
	paras := strings.Split(msg, "\n\n")
	last := paras[len(paras)-1]
	inTrailers := (len(paras) > 1 || !hasSubject) && isTrailerBlock(last)
	if inTrailers {
		_, wantEmail, _ := strings.Cut(strings.TrimSuffix(trailer, ">"), "<")
		for _, line := range strings.Split(last, "\n") {
			k, v, _ := strings.Cut(line, ":")
			_, haveEmail, _ := strings.Cut(strings.TrimSuffix(strings.TrimSpace(v), ">"), "<")
			// The same address by the identity rule: a look-alike that
			// only Unicode folding makes equal credits someone else.
			if strings.EqualFold(strings.TrimSpace(k), "Co-authored-by") && identity.SameEmail(haveEmail, wantEmail) {
				return msg
			}
		}
		return msg + "\n" + trailer
	}
	return msg + "\n\n" + trailer
}

func isTrailerBlock(p string) bool {
	for _, line := range strings.Split(strings.Trim(p, "\n"), "\n") {
		if !trailerLine.MatchString(line) {
			return false
		}
	}
	return true
}
