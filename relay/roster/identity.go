package roster

import (
	"fmt"
	"sort"

	"github.com/caddy-outstatic/caddy-outstatic/identity"
)

// Members, invitations and logins name people by their key under the one
// identity rule (package identity: ASCII-only case, IDNA ASCII domains,
// nothing folded or normalized). A name is turned into its key where it
// comes in: the configuration (KeyMembers), the admin API and the pages
// (CheckMember), a provider's answer (the verified addresses of GitHub and
// of an OpenID Connect issuer), a magic-link request; and again at every
// lookup (userKeys), so that a session sealed before carries no other
// spelling. What does not parse matches no one.

// MemberKey is the key of a member's GitHub login or e-mail address; ""
// for one that does not parse.
func MemberKey(who string) string {
	k, err := identity.Member(who)
	if err != nil {
		return ""
	}
	return k
}

// userKeys are the keys a user may be listed under: their GitHub login
// and each of their verified addresses, each by its own rule (an address
// never matches as a login, nor a login as an address).
func userKeys(login string, emails []string) []string {
	keys := make([]string, 0, 1+min(len(emails), MaxEmails))
	// A login by address has no GitHub login: none to refuse (and the
	// refusal's error to make).
	if login != "" {
		if k, err := identity.Login(login); err == nil {
			keys = append(keys, k)
		}
	}
	return appendEmailKeys(keys, emails)
}

// MaxEmails bounds the verified addresses a session carries, so that the
// tokens, which the site keeps in a cookie, stay small: a login keeps at
// most that many, and a lookup reads no more.
const MaxEmails = 10

// emailKeys are the keys of the addresses that parse, in order, at most
// MaxEmails of them.
func emailKeys(emails []string) []string { return appendEmailKeys(nil, emails) }

// appendEmailKeys appends emailKeys(emails) to keys.
func appendEmailKeys(keys, emails []string) []string {
	first := len(keys)
	for _, e := range emails {
		if len(keys)-first == MaxEmails {
			break
		}
		if k, err := identity.Email(e); err == nil {
			keys = append(keys, k)
		}
	}
	return keys
}

// rekeyMembers keys a stored record's members by the identity rule. A
// record written before the rule was lowercased by Unicode rules: its
// ASCII names are already their keys, and others (an IDN domain) move to
// theirs; a name already under its key wins over one that moves there.
// A name that does not parse stays as it was: it matches no login, since
// every key a login brings parses.
func rekeyMembers(members map[string]StoredMember) map[string]StoredMember {
	names := make([]string, 0, len(members))
	moved := false
	for who := range members {
		names = append(names, who)
		if k := MemberKey(who); k != "" && k != who {
			moved = true
		}
	}
	if !moved {
		return members
	}
	sort.Strings(names)
	out := make(map[string]StoredMember, len(members))
	for _, who := range names {
		if k := MemberKey(who); k == who || k == "" {
			out[who] = members[who]
		}
	}
	for _, who := range names {
		if k := MemberKey(who); k != "" && k != who {
			if _, taken := out[k]; !taken {
				m := members[who]
				m.Who = k
				out[k] = m
			}
		}
	}
	return out
}

// Operators are the people who may make and delete projects on the
// relay's Projects page (the relay's operators line), by their keys.
type Operators map[string]bool

// KeyOperators keys each of list, a GitHub login or an e-mail address, by
// the identity rule; one that does not parse is refused.
func KeyOperators(list []string) (Operators, error) {
	out := Operators{}
	for _, who := range list {
		k, err := identity.Member(who)
		if err != nil {
			return nil, fmt.Errorf("operator %q: %v", who, err)
		}
		out[k] = true
	}
	return out, nil
}

// Includes reports whether the user known by login and verified
// addresses is one of o, by the keys members are found by.
func (o Operators) Includes(login string, emails []string) bool {
	for _, k := range userKeys(login, emails) {
		if o[k] {
			return true
		}
	}
	return false
}
