// Package forward is the relay in forward mode: every call of the protocol
// goes on to the hosted service (or another relay), after local checks:
// only configured keys pass, callback fields are checked and the site's
// own localhost origin in them is replaced by the public one, exchange
// tokens are redeemed with the callback the guard saw, the key check is
// answered from the verdict cache, and CORS is answered for the callback
// origins only. It does not import Caddy.
package forward

import (
	"context"
	"errors"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/requestlog"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
	"github.com/caddy-outstatic/caddy-outstatic/verdict"
)

// VerdictSource answers the key check. *verdict.Cache is one.
type VerdictSource interface {
	// Lookup returns what the service says about key.
	Lookup(ctx context.Context, key string) verdict.Verdict
}

// Defaults for the zero values of ForwardConfig.
const (
	// DefaultResponseHeaderTimeout bounds the wait for the service's
	// response headers once the request is sent.
	DefaultResponseHeaderTimeout = 30 * time.Second
	// DefaultMaxBodyBytes bounds the JSON bodies the relay reads to check.
	DefaultMaxBodyBytes = 1 << 20
)

// ForwardConfig configures a Forwarder.
type ForwardConfig struct {
	// Upstream is the real service's base URL, e.g.
	// https://outstatic.com/api. The relay appends the request's path to
	// it; a trailing slash is allowed.
	Upstream *url.URL
	// Keys are the API keys this relay accepts. A call with any other key
	// is answered 401 locally and never reaches the upstream.
	Keys []string
	// Targets holds the callback origins of the sites the relay serves;
	// the first origin is the primary one, whose site replaces the app's
	// own address in callbacks.
	Targets validate.Targets
	// AppHosts are the host:port the sites name themselves by in the
	// callbacks they send. Default: protocol.DefaultAppHosts.
	AppHosts []string
	// Verdicts answers GET /outstatic/project. It must be the verdict cache
	// for Upstream: the relay never forwards that call, so the site keeps
	// its answer through an outage of the service.
	Verdicts VerdictSource
	// Callbacks holds the public callbacks exchange tokens arrived at, as
	// the guard recorded them. Nil: every token is redeemable only with a
	// callback that passes the check as sent.
	Callbacks relay.CallbackMemory
	// Transport sends the forwarded calls. Default: a transport with dial,
	// TLS and response-header timeouts. A transport given here must bound
	// its own waits: ResponseHeaderTimeout does not apply to it.
	Transport http.RoundTripper
	// ResponseHeaderTimeout bounds the wait for the service's response
	// headers after the request is sent. Default 30s.
	ResponseHeaderTimeout time.Duration
	// CallTimeout bounds the rest of the reply, once its headers came, of
	// a call whose JSON body the relay checks (github-exchange,
	// google-exchange, request-magic-link, validate-github-user,
	// exchange-token), whatever the transport: those replies are small, and
	// a service that sends its headers and holds the rest must not hold the
	// site's call (the wait for the headers is ResponseHeaderTimeout's).
	// Default: ResponseHeaderTimeout, or its default.
	CallTimeout time.Duration
	// MaxBodyBytes bounds the JSON bodies that are read to be checked.
	// Default 1 MiB.
	MaxBodyBytes int64
	// Logger receives one entry per call; keys, tokens and bodies are never
	// logged. Default: no logging.
	Logger *zap.Logger
	// ClientIP names a request's client (behind trusted proxies, the one
	// they name): the browser a keyed call is made for when the caller
	// does not name it. Default: the peer address.
	ClientIP func(*http.Request) string
	// RequestID names a request in the log entries of its call, as
	// request_id (requestlog), so they can be told apart and matched with
	// the guard's and Caddy's. Default: none.
	RequestID requestlog.Source
}

// Forwarder is the relay in forward mode: an http.Handler that checks each
// call of the Outstatic protocol locally and passes it on to the real
// service. It sees paths relative to the relay's mount point, such as
// /outstatic/project. It is safe for concurrent use.
type Forwarder struct {
	upstream  *url.URL
	basePath  string // upstream's escaped path without its trailing slash
	keys      keySet
	targets   validate.Targets
	appHosts  []string
	verdicts  VerdictSource
	callbacks relay.CallbackMemory
	maxBody   int64
	callLimit time.Duration // CallTimeout
	transport http.RoundTripper
	log       *zap.Logger
	proxy     *httputil.ReverseProxy
	clientIP  func(*http.Request) string
	requestID requestlog.Source
}

// NewForwarder checks cfg and returns a Forwarder.
func NewForwarder(cfg ForwardConfig) (*Forwarder, error) {
	if err := checkUpstream(cfg.Upstream); err != nil {
		return nil, err
	}
	if cfg.Verdicts == nil {
		return nil, errors.New("forward mode needs a verdict source for the key check")
	}
	keys, err := newKeySet(cfg.Keys)
	if err != nil {
		return nil, err
	}
	appHosts, err := relay.CheckAppHosts(cfg.AppHosts)
	if err != nil {
		return nil, err
	}
	upstream := *cfg.Upstream // a copy: the caller keeps theirs
	f := &Forwarder{
		upstream:  &upstream,
		basePath:  strings.TrimRight(cfg.Upstream.EscapedPath(), "/"),
		keys:      keys,
		targets:   cfg.Targets,
		appHosts:  appHosts,
		verdicts:  cfg.Verdicts,
		callbacks: cfg.Callbacks,
		maxBody:   cfg.MaxBodyBytes,
		callLimit: cfg.CallTimeout,
		transport: cfg.Transport,
		log:       cfg.Logger,
		clientIP:  cfg.ClientIP,
		requestID: cfg.RequestID,
	}
	if f.clientIP == nil {
		f.clientIP = relay.PeerIP
	}
	if f.maxBody <= 0 {
		f.maxBody = DefaultMaxBodyBytes
	}
	if f.log == nil {
		f.log = zap.NewNop()
	}
	headerTimeout := cfg.ResponseHeaderTimeout
	if headerTimeout <= 0 {
		headerTimeout = DefaultResponseHeaderTimeout
	}
	if f.callLimit <= 0 {
		f.callLimit = headerTimeout
	}
	if f.transport == nil {
		f.transport = newTransport(headerTimeout)
	}
	f.proxy = &httputil.ReverseProxy{
		Rewrite:        f.rewrite,
		Transport:      f.transport,
		FlushInterval:  -1, // AI completions stream: every chunk goes out as it arrives
		ModifyResponse: f.modifyResponse,
		ErrorHandler:   f.proxyError,
		ErrorLog:       zap.NewStdLog(f.log.Named("proxy")),
	}
	return f, nil
}

// ServeHTTP answers or forwards one call of the protocol.
func (f *Forwarder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	c := &call{}
	c.ep, c.path, c.rawPath = route(r.URL)
	defer f.logCall(c, sw, r, start)
	// Believed only once the key is (keyedClient); never passed on as sent.
	claim := relay.TakeClientClaim(r.Header)

	if c.ep == nil {
		c.refuse(sw, http.StatusNotFound, protocol.CodeNotFound, "no such endpoint")
		return
	}
	if r.Method == http.MethodOptions && c.ep.Browser {
		f.preflight(sw, r, c)
		return
	}
	if r.Method != c.ep.Method {
		sw.Header().Set("Allow", c.ep.allow())
		c.refuse(sw, http.StatusMethodNotAllowed, protocol.CodeMethodNotAllowed, "method "+r.Method)
		return
	}
	var key string
	if c.ep.Auth == protocol.AuthKey {
		var ok bool
		if key, ok = f.keys.match(r.Header); !ok {
			c.refuse(sw, http.StatusUnauthorized, c.ep.KeyRefusedCode(), "no configured api key")
			return
		}
		if !f.keyedClient(sw, r, c, claim) {
			return
		}
	}
	if c.ep.Browser {
		c.corsOrigin = f.allowedOrigin(r)
	}
	switch c.ep.kind {
	case kindProject:
		f.serveProject(sw, r, c, key)
	case kindCallbacks:
		f.serveCallbacks(sw, r, c)
	case kindExchange:
		f.serveExchange(sw, r, c)
	default:
		f.forward(sw, r, c, nil)
	}
}

// keyedClient sets the client a keyed call is forwarded for: the browser
// its caller (a guard) names, else the caller's own address, as a native
// relay behind this one would take it if the caller called it directly. A
// name that is not one IP address is refused.
func (f *Forwarder) keyedClient(w http.ResponseWriter, r *http.Request, c *call, claim []string) bool {
	ip, named, err := relay.ParseClientClaim(claim)
	switch {
	case err != nil:
		c.refuse(w, http.StatusBadRequest, protocol.CodeInvalidRequest, "malformed client address header")
		return false
	case named:
		c.client = ip.String()
	default:
		if own, err := netip.ParseAddr(f.clientIP(r)); err == nil {
			c.client = own.Unmap().WithZone("").String()
		}
	}
	return true
}

// serveProject answers the key check from the verdict cache. It is never
// forwarded: the cache makes that call, once for every site, and keeps a
// good answer through an outage of the service.
func (f *Forwarder) serveProject(w http.ResponseWriter, r *http.Request, c *call, key string) {
	v := f.verdicts.Lookup(r.Context(), key)
	switch {
	case v.State == verdict.Valid && len(v.Body) > 0:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(v.Body)
	case v.State == verdict.Invalid:
		c.refuse(w, http.StatusUnauthorized, protocol.CodeInvalidAPIKey, "the service refuses the key")
	default:
		c.refuse(w, http.StatusBadGateway, protocol.CodeServiceUnavailable, "no verdict for the key")
	}
}

// logCall writes one entry per call: the endpoint, never its path (a
// mistyped path may hold a token), the status and, for a refusal, why.
func (f *Forwarder) logCall(c *call, sw *statusWriter, r *http.Request, start time.Time) {
	level := zap.DebugLevel
	if c.code != "" && c.code != protocol.CodeServiceUnavailable {
		level = zap.InfoLevel
	}
	ce := f.log.Check(level, "relay call")
	if ce == nil {
		return
	}
	fields := []zap.Field{
		zap.String("endpoint", c.name()),
		zap.String("method", r.Method),
		zap.Int("status", sw.status()),
		zap.Bool("forwarded", c.forwarded),
		zap.Duration("duration", time.Since(start)),
	}
	if c.code != "" {
		fields = append(fields, zap.String("refused", c.code), zap.String("reason", c.reason))
	}
	if c.callback != "" {
		fields = append(fields, zap.String("callback_source", c.callback))
	}
	ce.Write(append(fields, f.requestID.Field(r))...)
}
