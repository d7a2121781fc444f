package forward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// The upstream leg of forward mode: the transport, the request the service
// receives and what comes back from it.

// Timeouts of the default transport that do not depend on configuration.
const (
	dialTimeout = 10 * time.Second
	tlsTimeout  = 10 * time.Second
)

// checkUpstream accepts an absolute http or https URL with a host and
// nothing that would be lost or leaked when paths are appended to it.
func checkUpstream(u *url.URL) error {
	switch {
	case u == nil:
		return errors.New("forward mode needs an upstream service URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("upstream %q: scheme must be http or https", u.Redacted())
	case u.Host == "":
		return fmt.Errorf("upstream %q: must have a host", u.Redacted())
	case u.User != nil:
		return fmt.Errorf("upstream %q: must not carry userinfo", u.Redacted())
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fmt.Errorf("upstream %q: must not have a query or fragment", u.Redacted())
	}
	return nil
}

// newTransport returns the default transport: every wait before the
// response starts is bounded, so a service that hangs turns into a 502
// instead of a site request that never ends. The body of a response is
// not bounded: completions stream for as long as they take.
func newTransport(headerTimeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   tlsTimeout,
		ResponseHeaderTimeout: headerTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   relay.IdleConnsPerService,
		ForceAttemptHTTP2:     true,
	}
}

// CloseIdleConnections closes the idle connections to the upstream, for a
// configuration that is being replaced.
func (f *Forwarder) CloseIdleConnections() {
	if t, ok := f.transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// callKey is the context key under which a forwarded request carries its
// *call to the proxy's hooks.
type callKey struct{}

// callFrom returns the call a request belongs to.
func callFrom(r *http.Request) *call {
	c, _ := r.Context().Value(callKey{}).(*call)
	return c
}

// forward passes r to the upstream. A non-nil body replaces the request's
// body (a checked and rewritten JSON body), and the rest of the reply,
// once its headers came (whose wait the transport bounds), is bounded by
// CallTimeout; otherwise the body streams through as it arrives, and the
// reply for as long as it takes (completions).
func (f *Forwarder) forward(w http.ResponseWriter, r *http.Request, c *call, body []byte) {
	c.body = body
	c.forwarded = true
	ctx := context.WithValue(r.Context(), callKey{}, c)
	if body != nil {
		ctx, c.endCall = context.WithCancel(ctx)
		defer func() {
			if c.replyBound != nil {
				c.replyBound.Stop()
			}
			c.endCall()
		}()
	}
	r = r.WithContext(ctx)
	if body != nil {
		r.Body = http.NoBody
		if len(body) > 0 {
			r.Body = newBytesBody(body)
		}
		r.ContentLength = int64(len(body))
	}
	f.proxy.ServeHTTP(w, r)
}

// rewrite builds the upstream request: the service URL plus the call's
// path, the client's query (none for a call whose body the relay checked:
// those endpoints take none, and a callback put there would pass
// unchecked), and only the request headers the service needs,
// with, on a keyed call, the browser it is for (keyedClient). Cookies,
// X-Forwarded-* and anything else the site or browser sent stay here; the
// proxy has already removed hop-by-hop headers from pr.Out.
func (f *Forwarder) rewrite(pr *httputil.ProxyRequest) {
	c := callFrom(pr.In)
	u := *f.upstream
	// Both forms are joined, so a media path keeps its escaping (an
	// encoded "/" or "?" in a file name) on the way to the service.
	u.Path = strings.TrimRight(f.upstream.Path, "/") + c.path
	u.RawPath = f.basePath + c.rawPath
	if c.body == nil {
		u.RawQuery = pr.In.URL.RawQuery
	}
	pr.Out.URL = &u
	pr.Out.Host = u.Host

	h := make(http.Header, len(forwardHeaders)+1)
	for _, name := range forwardHeaders {
		if v := pr.Out.Header[name]; len(v) > 0 {
			h[name] = v
		}
	}
	if c.ep.referer {
		if v := pr.Out.Header["Referer"]; len(v) > 0 {
			h["Referer"] = v
		}
	}
	if c.ep.Auth == protocol.AuthNone {
		// The call carries no credential in the protocol; whatever the
		// client put there is not the service's to see.
		delete(h, "Authorization")
	}
	if c.body != nil {
		h.Set("Content-Type", "application/json")
	}
	if c.client != "" {
		h[protocol.ClientIPHeader] = []string{c.client}
	}
	pr.Out.Header = h
}

// forwardHeaders are the request headers passed on to the service,
// canonical. Referer is added for media only.
var forwardHeaders = []string{
	"Authorization",
	"Content-Type",
	"Accept",
	"Accept-Encoding",
	"User-Agent",
	"X-Project-Id",
}

// modifyResponse keeps the relay the only one that decides CORS and
// cookies for its own origin: the service's CORS headers were written for
// the service's origin, and its cookies would land on the relay's host.
// The service's trailers are dropped, declared or not: no endpoint of the
// protocol has any, and the proxy would pass them on unchecked (a reply
// the relay holds to read would even send them as headers).
func (f *Forwarder) modifyResponse(resp *http.Response) error {
	c := callFrom(resp.Request)
	for name := range resp.Header {
		if strings.HasPrefix(name, "Access-Control-") {
			delete(resp.Header, name)
		}
	}
	resp.Header.Del("Set-Cookie")
	if c != nil && c.ep.Browser {
		relay.SetCORS(resp.Header, c.corsOrigin)
	}
	resp.Trailer = nil
	resp.Body = &noTrailers{ReadCloser: resp.Body, resp: resp}
	if c != nil && c.endCall != nil {
		c.replyBound = time.AfterFunc(f.callLimit, c.endCall)
	}
	return nil
}

// noTrailers is a response body that forgets the response's trailers when
// it is closed: they are read with the end of the body, after
// modifyResponse, and the proxy copies them once it has closed the body.
type noTrailers struct {
	io.ReadCloser
	resp *http.Response
}

// Close closes the body and drops the trailers it brought.
func (b *noTrailers) Close() error {
	err := b.ReadCloser.Close()
	b.resp.Trailer = nil
	return err
}

// proxyError answers a call the upstream did not answer (refused
// connection, timeout, TLS failure) with the error the site treats as an
// outage, and logs why without the URL, whose query is the client's.
func (f *Forwarder) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	c := callFrom(r)
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	level := zap.WarnLevel
	if r.Context().Err() != nil {
		// The client went away; nothing is wrong upstream.
		level = zap.DebugLevel
	}
	if ce := f.log.Check(level, "upstream failed"); ce != nil {
		ce.Write(zap.String("endpoint", c.name()), zap.String("error", err.Error()), f.requestID.Field(r))
	}
	c.refuse(w, http.StatusBadGateway, protocol.CodeServiceUnavailable, "upstream failed")
}
