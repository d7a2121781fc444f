package protocol

// Error codes, exactly as the stock client parses them (PROTOCOL.md §2,
// §6, §8), and the ones this project answers with itself.
const (
	// CodeInvalidAPIKey: an unknown, revoked or malformed key (401).
	CodeInvalidAPIKey = "invalid-api-key"
	// CodeInvalidAPIKeyMagic: the same, for request-magic-link, whose
	// client parses this exact text.
	CodeInvalidAPIKeyMagic = "Invalid API key"
	// CodeProjectURLNotConfigured: the project has no callback origins.
	CodeProjectURLNotConfigured = "project-url-not-configured"
	// CodeInvalidCallbackDomain: a callback's origin matches no callback
	// origin (400).
	CodeInvalidCallbackDomain = "invalid-callback-domain"
	// CodeInvalidCallbackTarget: the base matches but the path is not a
	// callback route (400).
	CodeInvalidCallbackTarget = "invalid-callback-target"

	// CodeGitHubRelayFailed and CodeGoogleRelayFailed: a failed login
	// start, as the sign-in page shows it.
	CodeGitHubRelayFailed = "github-relay-failed"
	CodeGoogleRelayFailed = "google-relay-failed"
	// CodeSessionError: a spent exchange token, as the stock site
	// answers a replay.
	CodeSessionError = "session-error"
	// CodeNotCollaborator: the user is not a member of the project.
	CodeNotCollaborator = "not-collaborator"
	// CodeInvalidState: GitHub came back with a state the relay did not
	// seal, or one that is spent or expired.
	CodeInvalidState = "invalid-state"
	// CodeInvalidOrigin: a sign-out or magic-link start from another
	// origin, as the stock site answers one.
	CodeInvalidOrigin = "invalid-origin"

	// Codes of this project's own refusals.
	CodeNotSupported       = "not-supported"
	CodeNotFound           = "not-found"
	CodeMethodNotAllowed   = "method-not-allowed"
	CodeServiceUnavailable = "service-unavailable"
	CodeInvalidRequest     = "invalid-request"
	CodeTooLarge           = "request-too-large"
	CodeForbiddenOrigin    = "forbidden-origin"
)

// Codes of the native relay's e-mail and OpenID Connect logins.
const (
	// CodeTooManyRequests: a magic-link request over its address's or
	// client's rate (429).
	CodeTooManyRequests = "too-many-requests"
	// CodeNoRepositoryAccess: a session without a GitHub token (an e-mail
	// or OpenID Connect login) at the parser or media when the relay has no
	// GitHub App installed on the repository (403). Not the "Bad
	// credentials" answer: a refresh would not help.
	CodeNoRepositoryAccess = "no-repository-access"
)

// PassedThrough are the service's errors the stock site passes on to the
// browser as they are; any other becomes the route's generic failure.
var PassedThrough = map[string]bool{
	CodeInvalidAPIKey:           true,
	CodeProjectURLNotConfigured: true,
	CodeInvalidCallbackDomain:   true,
	CodeInvalidCallbackTarget:   true,
}
