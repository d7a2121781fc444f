package roster

import "github.com/caddy-outstatic/caddy-outstatic/relay"

// Every name the native relay keeps in its store, in one place. A
// project's names are built from its slug, which has no '/' or '.'
// (CheckSlug), so that no slug's records lie under another's. A name built
// from a token or a nonce holds its hash (relay.TokenKey), never the
// token. The guard's callback memory (package relay: callbacks/, seen/,
// bindings/) shares the store and none of these prefixes.

// SecretName keeps the relay secret, drawn once and shared by every
// instance, when the configuration names none.
const SecretName = "secret"

// A project's key (keys.go, keymemory.go): the active key's record
// (KeyRecordName: tests write old records), the project each stored key
// hash belongs to, the lock of a key change, and the epoch every key
// change rewrites. The epoch is not under "keys/", where a project could
// be named "epoch".
func KeyRecordName(slug string) string { return "keys/" + slug }
func keyHashName(hash string) string   { return "keyhash/" + hash }
func keyLockName(slug string) string   { return "locks/keys/" + slug }

const keyEpochName = "keyepoch"

// A project's stored members and the lock of a change (members.go,
// memberchanges.go).
func membersName(slug string) string     { return "members/" + slug }
func membersLockName(slug string) string { return "locks/members/" + slug }

// The audit log (auditlog.go, package audit): one record an event,
// auditlog/<slug>/<time>.<kind>.<member>.<tail>, and auditlog/_relay/...
// for the relay's own (no slug starts with '_'). It is not under
// "audit/", where the members log that came before it lies
// (legacyMembersLogPrefix: folded into it at the first read, then gone),
// and where a project could be named "members".
const auditLogPrefix = "auditlog/"

func legacyMembersLogPrefix(slug string) string { return "audit/members/" + slug + "/" }

// The projects made at run time (projects.go): one record of them all,
// the epoch every change of it rewrites, and the lock of a change.
const (
	projectsName     = "projects"
	projectEpochName = "projectepoch"
	projectsLockName = "locks/projects"
)

// A project's invitations (invitations.go), each keyed by the hash of the
// address's key, so that an address of any shape makes a valid store key,
// and a lookup at login is one read.
func invitePrefix(slug string) string { return "invites/" + slug + "/" }
func inviteName(slug, email string) string {
	return invitePrefix(slug) + relay.TokenKey(MemberKey(email))[:40]
}

// A project's stored callback origins and the lock of a change
// (origins.go).
func originsName(slug string) string     { return "origins/" + slug }
func originsLockName(slug string) string { return "locks/origins/" + slug }

// SpentStateName marks a login state whose provider came back, so that it
// is good for one return (package login).
func SpentStateName(nonce string) string { return "spent/state/" + relay.TokenKey(nonce) }

// SpentTicketName marks a pages sign-in's ticket as used (package login).
func SpentTicketName(nonce string) string { return "spent/ticket/" + relay.TokenKey(nonce) }

// PageSignedOutName marks a pages session signed out, by its CSRF token,
// for as long as the session would have lasted (package login).
func PageSignedOutName(csrf string) string { return "spent/pages/" + relay.TokenKey(csrf) }

// ExchangeName keeps an exchange token's sealed payload (package login).
func ExchangeName(token string) string { return "xt/" + relay.TokenKey(token) }

// LinkName keeps an e-mail login link's sealed payload (package login).
func LinkName(token string) string { return "ml/" + relay.TokenKey(token) }

// A session family's markers (package native): a refresh token spent, the
// family ended by a reused one, the user's GitHub token as last renewed,
// and the lock of a renewal.
func SessionSpentName(family, id string) string { return "sessions/spent/" + family + "." + id }
func SessionEndedName(family string) string     { return "sessions/ended/" + family }
func SessionGitHubName(family string) string    { return "sessions/github/" + family }
func SessionRenewingName(family string) string  { return "sessions/renewing/" + family }
