// Package identity is the one rule by which the relay compares and keeps
// who someone is: an e-mail address or a GitHub login. Every door that
// names a person (the Caddyfile's member lines, stored members, the admin
// API and CLI, the relay's pages, invitations, the addresses GitHub and an
// OpenID Connect issuer vouch for, magic links, the development login)
// turns the name into its key here, and compares keys byte for byte.
//
// The rule is ASCII-only on purpose. Unicode case folding and
// compatibility normalization map distinct strings together: strings.ToLower
// turns "İ" (U+0130) into "i" and the Kelvin sign (U+212A) into "k", NFKC
// turns fullwidth letters into ASCII ones, so a mailbox someone else can
// register would compare equal to a member's. Here no byte above 0x7F is
// ever changed, and no byte above 0x7F ever becomes ASCII:
//
//   - An e-mail address is local@domain with exactly one "@", as an
//     addr-spec without quotes or comments. The domain is converted to its
//     IDNA ASCII form with golang.org/x/net/idna's registration profile
//     (RFC 5891 §4), which maps nothing: a non-ASCII label must already be
//     a valid, NFC-normal IDNA2008 label, else the address is refused (no
//     "İ" turned into "i", no fullwidth letter into ASCII); an ASCII label,
//     or an "xn--" label that decodes to a valid one, is kept. ASCII letters
//     are lowercased before and after. The local part is kept as written
//     but for its ASCII letters, which are lowercased: "Ada@Example.COM" and
//     "ada@example.com" are one person, because mail systems in practice
//     deliver both to one mailbox (RFC 5321 §2.4 discourages anything else);
//     "adä" and "ada" are two, as are two spellings of "ä" (precomposed, or
//     "a" and a combining mark), because nothing is normalized.
//   - A GitHub login is 1 to 39 ASCII letters, digits and single hyphens,
//     neither first nor last (GitHub's rule), compared ASCII-case-
//     insensitively, as GitHub compares logins.
//
// What does not parse is refused, never repaired.
package identity

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// ErrInvalid is what every error of this package is (errors.Is); the
// error itself says which rule the input breaks, quoting it.
var ErrInvalid = errors.New("invalid identity")

// Limits of an e-mail address (RFC 5321 §4.5.3.1): its key, domain in
// ASCII, is at most MaxEmail bytes, its local part at most maxLocal.
const (
	MaxEmail = 254
	maxLocal = 64
	// maxInput bounds the work done on input that cannot be an address.
	maxInput = 1024
)

// MaxLogin is the longest GitHub login.
const MaxLogin = 39

// registration converts a domain to ASCII without mapping anything: it
// refuses characters UTS #46 would map (upper case, fullwidth, compatibility
// forms, "ſ", the Kelvin sign...), input that is not NFC, disallowed code
// points, bad hyphens, joiners out of context, and Bidi rule breaks.
var registration = idna.New(idna.ValidateForRegistration())

// invalidError says what is wrong with an identity, and is ErrInvalid.
type invalidError struct{ msg string }

func (e invalidError) Error() string        { return e.msg }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(format string, args ...any) error {
	return invalidError{fmt.Sprintf(format, args...)}
}

// Email returns the key of an e-mail address: its local part with ASCII
// letters lowercased, "@", its domain in lowercase IDNA ASCII form. It
// refuses anything else, with an error that says why.
func Email(s string) (string, error) {
	if len(s) > maxInput {
		return "", invalid("an e-mail address is at most %d bytes", MaxEmail)
	}
	if !utf8.ValidString(s) {
		return "", invalid("%q is not UTF-8", s)
	}
	if strings.Count(s, "@") != 1 {
		return "", invalid("%q is not one e-mail address (local@domain, exactly one @)", s)
	}
	local, domain, _ := strings.Cut(s, "@")
	if err := checkLocal(local); err != nil {
		return "", invalid("%q: %v", s, err)
	}
	d, err := asciiDomain(domain)
	if err != nil {
		return "", invalid("%q: %v", s, err)
	}
	key := LowerASCII(local) + "@" + d
	if len(key) > MaxEmail {
		return "", invalid("%q: an e-mail address is at most %d bytes", s, MaxEmail)
	}
	return key, nil
}

// checkLocal accepts a dot-atom (RFC 5322 §3.2.3) whose characters are
// ASCII atext or, as RFC 6531 allows, graphic non-ASCII characters (no
// controls, format characters such as bidirectional overrides, spaces or
// unassigned code points: they hide what an address says).
func checkLocal(local string) error {
	switch {
	case local == "":
		return errors.New("empty local part")
	case len(local) > maxLocal:
		return fmt.Errorf("a local part is at most %d bytes", maxLocal)
	case local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, ".."):
		return errors.New("a dot at an end of the local part, or two dots in a row")
	}
	for _, r := range local {
		if r < utf8.RuneSelf {
			if !isAtext(byte(r)) && r != '.' {
				return fmt.Errorf("%q is not allowed in a local part", r)
			}
			continue
		}
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%U is not allowed in a local part", r)
		}
	}
	return nil
}

// isAtext reports whether c is ASCII atext (RFC 5322 §3.2.3).
func isAtext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// asciiDomain is an address's domain in its IDNA ASCII form, lowercase,
// by the registration profile (see the package comment). A trailing dot,
// an address literal ("[192.0.2.1]") and an empty label are refused.
func asciiDomain(s string) (string, error) {
	if s == "" {
		return "", errors.New("empty domain")
	}
	if len(s) > maxInput {
		return "", errors.New("domain too long")
	}
	if strings.HasSuffix(s, ".") {
		return "", errors.New("a domain must not end with a dot")
	}
	// Only ASCII letters are lowercased: the profile refuses upper case,
	// and "İ" must stay what it is, to be refused.
	a, err := registration.ToASCII(LowerASCII(s))
	if err != nil {
		return "", fmt.Errorf("domain %q is not a valid IDNA domain name as written (nothing is mapped): %v", s, err)
	}
	// Every label of a is ASCII by now; lowercasing again keeps an
	// "XN--" prefix given in capitals from standing apart.
	return LowerASCII(a), nil
}

// Login returns the key of a GitHub login: lowercased, after checking it
// is 1 to MaxLogin ASCII letters, digits and single hyphens, not first or
// last.
func Login(s string) (string, error) {
	if s == "" || len(s) > MaxLogin {
		return "", invalid("%q is not a GitHub login (1 to %d letters, digits and single hyphens)", s, MaxLogin)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' && i > 0 && i < len(s)-1 && s[i-1] != '-':
		default:
			return "", invalid("%q is not a GitHub login (letters, digits and single hyphens, not first or last)", s)
		}
	}
	return LowerASCII(s), nil
}

// Member returns the key of a member as configured or given to the admin
// API: an e-mail address if it has an "@", else a GitHub login.
func Member(s string) (string, error) {
	if strings.Contains(s, "@") {
		return Email(s)
	}
	return Login(s)
}

// SameLogin reports whether a and b are one GitHub login or account name
// (ASCII letters compared without case, nothing else folded).
func SameLogin(a, b string) bool { return LowerASCII(a) == LowerASCII(b) }

// SameEmail reports whether a and b are e-mail addresses with one key.
func SameEmail(a, b string) bool {
	ka, err := Email(a)
	if err != nil {
		return false
	}
	kb, err := Email(b)
	return err == nil && ka == kb
}

// LowerASCII lowercases the ASCII letters of s and leaves every other byte
// as it is (strings.ToLower would also map "İ" to "i", or "K" (U+212A) to
// "k").
func LowerASCII(s string) string {
	i := 0
	for i < len(s) && !('A' <= s[i] && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}
