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

// Codes the guard answers with at the edge.
const (
	// CodeProRequired: a Pro-only route (generate, scan) for a key that is
	// not verified Pro (403).
	CodeProRequired = "pro-required"
	// CodeInvalidRequestPath: an auth route reached only after cleaning,
	// decoding or case folding its path (400).
	CodeInvalidRequestPath = "invalid-request-path"
	// CodeAuthCallbackFailed: a callback the guard refused (a malformed
	// query, or a token that came back to a browser that did not start
	// the login), as the redirect to the dashboard carries it. The stock
	// sign-in page says "Something went wrong during login. Please try
	// again." for it; the reason goes to the log.
	CodeAuthCallbackFailed = "auth-callback-failed"
)

// The stock site's own answers on its routes (outstatic 2.2.4), which the
// guard gives in the site's place when it serves a route itself, and reads
// when it watches the site's.
const (
	// CodeSiteInvalidURL: google-login or magic-link with a body that does
	// not parse or a returnUrl off the site (400).
	CodeSiteInvalidURL = "Invalid url"
	// CodeSiteInvalidEmail: magic-link with a body that does not parse or
	// an address that is not one (400).
	CodeSiteInvalidEmail = "Invalid email format"
	// CodeSiteEmailRequired: magic-link without an address (400).
	CodeSiteEmailRequired = "Required"
	// CodeSiteInternalError: magic-link when the service did not answer
	// (500).
	CodeSiteInternalError = "Internal server error"
	// CodeSiteMagicLinkFailed: magic-link that the service refused (500).
	CodeSiteMagicLinkFailed = "Failed to send magic link"
	// CodeSiteEmailNotConfigured: magic-link for a project whose key is
	// not Pro (403).
	CodeSiteEmailNotConfigured = "Email authentication is not configured"

	// The refresh route's answers to a failed refresh, each with 401: no
	// session in the cookie, the login's end passed, no refresh token, and
	// whatever failed in the call to the relay's refresh-token (the site
	// turns every such failure into this last one). The service's
	// refresh-token (#7) refuses in the same words: CodeSiteRefreshExpired
	// for a refresh token that does not open, CodeSiteTokenRefreshFailed
	// when the new session could not be sealed.
	CodeSiteNoSession          = "No active session found"
	CodeSiteRefreshExpired     = "Refresh token is expired"
	CodeSiteNoRefreshToken     = "No refresh token available"
	CodeSiteTokenRefreshFailed = "Token refresh failed"
)

// The stock dashboard's other codes in a callback's ?error= (outstatic
// 2.2.4), and those of other relays.
const (
	// CodeSomething is the dashboard's generic failure.
	CodeSomething = "something"
	// CodeRepositoryNotFound: the project's repository is not reachable.
	CodeRepositoryNotFound = "repository-not-found"
	// CodeMissingUserData: GitHub (or any login provider) did not say who
	// the user is once the code was good.
	CodeMissingUserData = "missing-user-data"
	// CodeMissingCode: GitHub came back without a code.
	CodeMissingCode = "missing-code"
	// CodeNoAccessToken: the code was not exchanged for a token.
	CodeNoAccessToken = "no-access-token"
	// CodeAuthNotConfigured: the site has no way to log in.
	CodeAuthNotConfigured = "auth-not-configured"
	// CodeInvalidToken, CodeInvalidData and CodeCallbackError are the
	// dashboard's failures of a magic link or a callback.
	CodeInvalidToken  = "invalid_token"
	CodeInvalidData   = "invalid_data"
	CodeCallbackError = "callback_error"
	// CodeNotAMember, CodeStateExpired and CodeLoginFailed are what a
	// relay sends when a login cannot complete.
	CodeNotAMember   = "not-a-member"
	CodeStateExpired = "state-expired"
	CodeLoginFailed  = "login-failed"
)

// CallbackErrors are the error codes a login's callback may carry: the
// ones the stock dashboard and relays use, and the OAuth 2.0
// authorization errors GitHub may return to a site with its own OAuth app.
// Any other is refused, so that attacker-chosen text never reaches the
// dashboard.
var CallbackErrors = map[string]bool{
	CodeSomething:               true,
	CodeAuthCallbackFailed:      true,
	CodeRepositoryNotFound:      true,
	CodeNotCollaborator:         true,
	CodeMissingUserData:         true,
	CodeMissingCode:             true,
	CodeInvalidState:            true,
	CodeNoAccessToken:           true,
	CodeInvalidAPIKey:           true,
	CodeAuthNotConfigured:       true,
	CodeProjectURLNotConfigured: true,
	CodeInvalidCallbackDomain:   true,
	CodeInvalidCallbackTarget:   true,
	CodeGitHubRelayFailed:       true,
	CodeGoogleRelayFailed:       true,
	CodeSessionError:            true,
	CodeInvalidToken:            true,
	CodeInvalidData:             true,
	CodeCallbackError:           true,
	CodeNotAMember:              true,
	CodeStateExpired:            true,
	CodeLoginFailed:             true,
	// RFC 6749 section 4.1.2.1, and GitHub's own
	"access_denied":             true,
	"invalid_request":           true,
	"unauthorized_client":       true,
	"unsupported_response_type": true,
	"invalid_scope":             true,
	"server_error":              true,
	"temporarily_unavailable":   true,
	"redirect_uri_mismatch":     true,
	"application_suspended":     true,
}

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
