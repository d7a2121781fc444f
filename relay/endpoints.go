package relay

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Error codes the relay answers with itself, besides those of validate.
const (
	codeInvalidKey       = "invalid-api-key"
	codeInvalidKeyMagic  = "Invalid API key" // request-magic-link: the stock client parses this exact text
	codeUnavailable      = "service-unavailable"
	codeNotFound         = "not-found"
	codeMethodNotAllowed = "method-not-allowed"
	codeInvalidRequest   = "invalid-request"
	codeTooLarge         = "request-too-large"
	codeForbiddenOrigin  = "forbidden-origin"
)

// auth is what an endpoint requires of the caller.
type auth int

const (
	// authNone: the protocol sends no credential (exchange, refresh).
	authNone auth = iota
	// authKey: the site's API key, checked here against the configured
	// keys before anything is sent.
	authKey
	// authSession: a user's session token, which only the service can
	// check; it is passed on untouched.
	authSession
)

// kind is how the relay handles an endpoint.
type kind int

const (
	kindForward   kind = iota // passed on as it is, body streamed
	kindProject               // answered from the verdict cache
	kindCallbacks             // JSON body whose callback fields are checked and rewritten
	kindExchange              // exchange-token: the recorded callback, or an exact match
)

// endpoint is one call of the protocol (PROTOCOL.md §2).
type endpoint struct {
	name     string // for logs
	method   string
	auth     auth
	kind     kind
	callback string // kindCallbacks: the callback field the stock site sends, required
	magic    bool   // request-magic-link: its own text for a refused key
	cors     bool   // called by the browser: answers CORS
	referer  bool   // Referer is passed on (the media proxy forwards it)
}

// allow returns the Allow header for a 405.
func (e *endpoint) allow() string {
	if e.cors {
		return e.method + ", " + http.MethodOptions
	}
	return e.method
}

// keyError returns the error text for a refused key.
func (e *endpoint) keyError() string {
	if e.magic {
		return codeInvalidKeyMagic
	}
	return codeInvalidKey
}

// endpoints maps each exact path, relative to the relay, to its endpoint.
var endpoints = map[string]*endpoint{
	"/outstatic/project": {name: "project", method: http.MethodGet, auth: authKey, kind: kindProject},
	"/outstatic/auth/github-exchange": {name: "github-exchange", method: http.MethodPost, auth: authKey,
		kind: kindCallbacks, callback: "callback_url"},
	"/outstatic/auth/google-exchange": {name: "google-exchange", method: http.MethodPost, auth: authKey,
		kind: kindCallbacks, callback: "callbackUrl"},
	"/outstatic/auth/request-magic-link": {name: "request-magic-link", method: http.MethodPost, auth: authKey,
		kind: kindCallbacks, callback: "callbackUrl", magic: true},
	"/outstatic/auth/exchange-token": {name: "exchange-token", method: http.MethodPost, auth: authNone, kind: kindExchange},
	"/outstatic/auth/validate-github-user": {name: "validate-github-user", method: http.MethodPost, auth: authKey,
		kind: kindCallbacks, callback: "callback_url"},
	"/outstatic/auth/refresh-token": {name: "refresh-token", method: http.MethodPost, auth: authNone},
	"/outstatic/generate":           {name: "generate", method: http.MethodPost, auth: authKey},
	"/outstatic/scan":               {name: "scan", method: http.MethodPost, auth: authKey},
	"/github/parser":                {name: "parser", method: http.MethodPost, auth: authSession, cors: true},
}

// mediaPrefix starts the media proxy's paths:
// /outstatic/media/<owner>/<repo>/<branch>/<path...>.
const mediaPrefix = "/outstatic/media/"

var mediaEndpoint = &endpoint{name: "media", method: http.MethodGet, auth: authSession, referer: true}

// route finds the endpoint for u and the path to append to the
// upstream's, decoded and escaped, or nil. Exact endpoints send their own
// canonical path, so an oddly escaped spelling of it reaches the service
// as the plain one.
func route(u *url.URL) (ep *endpoint, path, rawPath string) {
	if ep, ok := endpoints[u.Path]; ok {
		return ep, u.Path, u.Path
	}
	rest, ok := strings.CutPrefix(u.Path, mediaPrefix)
	if !ok {
		return nil, "", ""
	}
	// Owner, repository, branch and at least one path segment, none empty
	// and none a dot segment: an upstream that resolves ".." would
	// otherwise be reached outside the media proxy with the user's token.
	segs := strings.Split(rest, "/")
	if len(segs) < 4 {
		return nil, "", ""
	}
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return nil, "", ""
		}
	}
	return mediaEndpoint, u.Path, u.EscapedPath()
}

// call is what the relay knows about one request while it handles it.
type call struct {
	ep         *endpoint
	path       string // path appended to the upstream's, decoded
	rawPath    string // the same, escaped
	body       []byte // replacement body for the upstream, nil to stream the original
	corsOrigin string // the request's Origin when it may read the answer, else ""
	forwarded  bool   // handed to the upstream
	code       string // the error code of a local refusal
	reason     string // why, for the log; never a key, token or body
	callback   string // exchange-token: "recorded" or "exact"
}

// name returns the endpoint's name for logs.
func (c *call) name() string {
	if c == nil || c.ep == nil {
		return "unknown"
	}
	return c.ep.name
}

// refuse answers the call locally with {"error": code}.
func (c *call) refuse(w http.ResponseWriter, status int, code, reason string) {
	if c != nil {
		c.code, c.reason = code, reason
	}
	writeError(w, status, code)
}

// writeError writes {"error": code}, the shape the stock site parses.
func writeError(w http.ResponseWriter, status int, code string) {
	body, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{code})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// newBytesBody returns a request body reading b.
func newBytesBody(b []byte) io.ReadCloser {
	return io.NopCloser(bytes.NewReader(b))
}

// statusWriter records the status of a response for the log. It unwraps
// to the writer it wraps, so the proxy can still flush and hijack.
type statusWriter struct {
	http.ResponseWriter
	code int
}

// WriteHeader records the first final status.
func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends what is buffered to the client.
func (w *statusWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status returns the recorded status, 0 if nothing was written.
func (w *statusWriter) status() int { return w.code }
