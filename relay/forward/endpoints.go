package forward

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
)

// kind is how the relay handles an endpoint.
type kind int

const (
	kindForward   kind = iota // passed on as it is, body streamed
	kindProject               // answered from the verdict cache
	kindCallbacks             // JSON body whose callback fields are checked and rewritten
	kindExchange              // exchange-token: the recorded callback, or an exact match
)

// endpoint is one call of the protocol (package protocol's table), with
// how the forward relay handles it.
type endpoint struct {
	*protocol.Endpoint
	kind    kind
	referer bool // Referer is passed on (the media proxy forwards it)
}

// allow returns the Allow header for a 405.
func (e *endpoint) allow() string {
	if e.Browser {
		return e.Method + ", " + http.MethodOptions
	}
	return e.Method
}

// endpoints maps each exact path of the protocol, relative to the relay,
// to its endpoint; mediaEndpoint is the media proxy's, under mediaPrefix.
// The native relay's own routes are not forwarded.
var endpoints, mediaEndpoint = forwardTable()

func forwardTable() (map[string]*endpoint, *endpoint) {
	m := map[string]*endpoint{}
	var media *endpoint
	for _, e := range protocol.Endpoints {
		if e.RelayOwn {
			continue
		}
		fe := &endpoint{Endpoint: e}
		switch {
		case e == protocol.Project:
			fe.kind = kindProject
		case e == protocol.ExchangeToken:
			fe.kind = kindExchange
		case e.CallbackField != "":
			fe.kind = kindCallbacks
		}
		if e == protocol.Media {
			fe.referer = true
			media = fe
			continue
		}
		m[e.Path] = fe
	}
	return m, media
}

// mediaPrefix starts the media proxy's paths:
// /outstatic/media/<owner>/<repo>/<branch>/<path...>.
var mediaPrefix = protocol.Media.Path

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
	// For the same reason no segment has a backslash (read as "/" by
	// WHATWG URL parsers, so "..\" is a dot segment there) or a control
	// character, as the native relay refuses them.
	segs := strings.Split(rest, "/")
	if len(segs) < 4 {
		return nil, "", ""
	}
	for _, s := range segs {
		if s == "" || s == "." || s == ".." || strings.IndexFunc(s, backslashOrControl) >= 0 {
			return nil, "", ""
		}
	}
	return mediaEndpoint, u.Path, u.EscapedPath()
}

// backslashOrControl reports a character no media path segment may have.
func backslashOrControl(r rune) bool {
	return r == '\\' || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)
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
	client     string // a keyed call: the browser it is for, passed on in protocol.ClientIPHeader
	// replyBound, for a call with a checked body, ends the call once the
	// rest of the reply has taken CallTimeout since its headers came.
	replyBound *time.Timer
	endCall    context.CancelFunc
}

// name returns the endpoint's name for logs.
func (c *call) name() string {
	if c == nil || c.ep == nil {
		return "unknown"
	}
	return c.ep.Label
}

// refuse answers the call locally with {"error": code}.
func (c *call) refuse(w http.ResponseWriter, status int, code, reason string) {
	if c != nil {
		c.code, c.reason = code, reason
	}
	protocol.WriteError(w, status, code)
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
