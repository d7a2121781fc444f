package demosite

import "github.com/caddy-outstatic/caddy-outstatic/protocol"

// explanations is what the demo page says of each error code a login can
// end with (the `?error=` of the dashboard's path, where the guard and the
// relay send the browser, or of the demo's own page): one line each, the
// cause and what to do. docs/troubleshooting.md has the full table.
var explanations = map[string]string{
	protocol.CodeAuthCallbackFailed: "The guard refused the callback: this browser holds no valid login binding for it " +
		"(the login was started in another browser, took longer than binding_ttl, or was started on another Caddy instance " +
		"with another binding_secret: instances must share binding_secret). Start the login again with Log in.",
	protocol.CodeSessionError:         "The exchange token came back a second time (a reload or the back button on the callback). Log in again.",
	protocol.CodeInvalidState:         "The relay's login page was submitted twice, or after it expired. Log in again.",
	protocol.CodeInvalidExchangeToken: "The relay refused the exchange token: unknown, expired or already redeemed. Log in again.",
	protocol.CodeNotCollaborator:      "That user is not a member of the project: add a member line to the relay's project block.",
	protocol.CodeGitHubRelayFailed: "The login could not start: the relay did not answer the guard (is it running, at the service URL?), " +
		"or the login was not started from this site's own page.",
	protocol.CodeProjectURLNotConfigured: "No callback origin is known for the project: set callback_origin (a guard without one waits for its relay's key check to answer).",
	protocol.CodeInvalidCallbackDomain:   "The site's address is not one of the project's callback origins: open the demo at the address its Caddyfile names.",
	protocol.CodeInvalidCallbackTarget:   "The callback path is not one the project allows: check callback_origin's path (it ends with /outstatic).",
	protocol.CodeInvalidAPIKey:           "The relay does not know the guard's api_key: give the guard and the project the same key.",
	protocol.CodeTooManyRequests:         "Too many logins in a short time: wait a minute and try again.",
}

// explain returns the line for code, or a pointer to the full table for a
// code the demo does not expect.
func explain(code string) string {
	if e, ok := explanations[code]; ok {
		return e
	}
	return "See docs/troubleshooting.md, which lists every code with its cause and fix."
}
