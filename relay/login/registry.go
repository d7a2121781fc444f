package login

import "github.com/caddy-outstatic/caddy-outstatic/protocol"

// Slot is one of the protocol's ways into a login: the keyed call that
// starts it, the relay's route the browser goes to, and the one it comes
// back to.
type Slot struct {
	// Name names the slot in errors.
	Name string
	// Exchange is the keyed call that starts a login; its CallbackField
	// carries the site's callback.
	Exchange *protocol.Endpoint
	// ReturnURL: Exchange's body may carry a returnUrl.
	ReturnURL bool
	// Start and Callback are the relay's own routes of the login.
	Start, Callback *protocol.Endpoint
	// Failed is the code a failed login goes back to the site with.
	Failed string
}

// The protocol's login slots (PROTOCOL.md §2, #2 to #4).
var (
	// SlotGitHub is the stock site's "Sign in with GitHub".
	SlotGitHub = &Slot{Name: "github", Exchange: protocol.GitHubExchange,
		Start: protocol.GitHubStart, Callback: protocol.GitHubCallback, Failed: protocol.CodeGitHubRelayFailed}
	// SlotGoogle is its "Sign in with Google": any OpenID Connect issuer.
	SlotGoogle = &Slot{Name: "google", Exchange: protocol.GoogleExchange, ReturnURL: true,
		Start: protocol.OIDCStart, Callback: protocol.OIDCCallback, Failed: protocol.CodeGoogleRelayFailed}
	// SlotEmail is its e-mail sign-in: the link's page and its form.
	SlotEmail = &Slot{Name: "email", Exchange: protocol.RequestMagicLink, ReturnURL: true,
		Start: protocol.EmailVerify, Callback: protocol.EmailConfirm}
)

// Slots are every slot, in the order the relay's pages offer them.
var Slots = []*Slot{SlotGitHub, SlotGoogle, SlotEmail}

// Setup is what a provider's constructor gets.
type Setup struct {
	// Config is the logins' configuration (read only).
	Config *Config
	// Callback is the slot's callback URL, absolute.
	Callback string
	// l is for the built-in providers that share the flow's parts.
	l *Logins
}

// Constructor makes a provider from its Setup; nil and no error when the
// configuration does not turn it on.
type Constructor func(Setup) (Provider, error)

// Registration is a provider the relay may log in with, and its slot.
type Registration struct {
	Slot *Slot
	New  Constructor
}

// Registry lists the login providers. A slot is answered by the first of
// its providers whose constructor returns one.
type Registry []Registration

// Builtin is every login provider of the relay. The development login,
// when dev_login turns it on, takes GitHub's slot.
func Builtin() Registry {
	return Registry{
		{SlotGitHub, newDevLogin},
		{SlotGitHub, newGitHubLogin},
		{SlotGoogle, newOIDCLogin},
		{SlotEmail, newEmailLogin},
	}
}

// With is r with c answering slot ahead of r's own providers of it: how a
// test logs in through a provider of its own.
func (r Registry) With(slot *Slot, c Constructor) Registry {
	return append(Registry{{slot, c}}, r...)
}
