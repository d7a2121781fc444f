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

// Codes of the native relay's logins, sessions, parser and media.
const (
	// CodeMissingUserData: the provider took the code but did not say
	// who the user is (the stock site's own code for it).
	CodeMissingUserData = "missing-user-data"
	// CodeSignInFailed: a sign-in to the relay's own pages did not
	// complete; CodeSignInTicket: its ticket was for another browser or
	// was used already; CodeSignInProvider: it named no provider the
	// relay has. The pages' sign-in page shows them.
	CodeSignInFailed   = "sign-in-failed"
	CodeSignInTicket   = "ticket"
	CodeSignInProvider = "provider"
	// CodeInvalidExchangeToken: an exchange token that is spent, expired
	// or not one (#5, 400).
	CodeInvalidExchangeToken = "invalid-exchange-token"
	// CodeInvalidGitHubToken: validate-github-user with no GitHub token,
	// or one GitHub refuses (#6, 401).
	CodeInvalidGitHubToken = "invalid-github-token"
	// CodeRefreshTokenExpired and CodeTokenRefreshFailed: #7's refusals,
	// in the stock service's words, which the stock site reads.
	CodeRefreshTokenExpired = "Refresh token is expired"
	CodeTokenRefreshFailed  = "Token refresh failed"
	// CodeSessionRevoked: a session whose project's key changed, or
	// whose family a reused refresh token ended (#7, 401).
	CodeSessionRevoked = "session-revoked"
	// CodeGitHubTokenExpired: GitHub no longer renews the session's
	// GitHub token (#7, 401).
	CodeGitHubTokenExpired = "github-token-expired"
	// CodeProjectMismatch: x-project-id names another project than the
	// session's (#10, #11, 403).
	CodeProjectMismatch = "project-mismatch"
	// CodeForbiddenOperation: a GraphQL request the policy refuses (#11,
	// 403). It must not hold the word "credentials" (PROTOCOL.md §8).
	CodeForbiddenOperation = "forbidden-operation"
	// CodeInvalidMediaPath, CodeRepositoryNotAllowed and
	// CodeMediaTooLarge: the media proxy's refusals (#10: 400, 403, 413).
	CodeInvalidMediaPath     = "invalid-media-path"
	CodeRepositoryNotAllowed = "repository-not-allowed"
	CodeMediaTooLarge        = "media-too-large"
)
