package native

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// The route table. Each endpoint of package protocol's table that the
// native relay serves has a route, and ServeHTTP opens every call the same
// way, by the Auth its endpoint names: the method first, then for AuthKey
// the key (the project it names goes to the handler), for AuthSession the
// session (and for a Browser endpoint its CORS), for AuthNone nothing.

// route answers one endpoint. Its handler is the one of its endpoint's
// Auth: keyed for AuthKey, session for AuthSession, open for AuthNone.
type route struct {
	// methods are the methods it answers; default the endpoint's one. A
	// Browser endpoint answers OPTIONS (its preflight) too.
	methods []string
	// anyMethod: the handler checks the method itself (the pages).
	anyMethod bool
	// before, if set, judges the request before its session is checked,
	// and answers a refusal itself.
	before  func(http.ResponseWriter, *http.Request) bool
	keyed   func(http.ResponseWriter, *http.Request, *roster.Project)
	session func(http.ResponseWriter, *http.Request, *sessionClaims, *roster.Project)
	open    http.HandlerFunc
}

// routeTable is the relay's own routes and the logins'.
func (n *Native) routeTable() map[*protocol.Endpoint]route {
	t := map[*protocol.Endpoint]route{
		protocol.Project:       {keyed: n.serveProject},
		protocol.ExchangeToken: {open: n.serveExchangeToken},
		protocol.RefreshToken:  {open: n.serveRefresh},
		protocol.Parser:        {session: n.serveParser},
		protocol.Media:         {methods: []string{http.MethodGet, http.MethodHead}, before: n.checkMediaPath, session: n.serveMedia},
		protocol.Generate:      {keyed: n.serveGenerate},
		protocol.Scan:          {keyed: n.serveScan},
		protocol.Pages:         {anyMethod: true, open: n.servePages},
	}
	for _, r := range n.logins.Routes() {
		t[r.Endpoint] = route{methods: r.Methods, keyed: r.Keyed, open: r.Open}
	}
	return t
}

// ServeHTTP opens a call to its endpoint's route.
func (n *Native) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// What the request says of its client counts only if its key does
	// (relay.ClaimedClient); nothing after this reads the header. The
	// audit log names the request's own client.
	r = r.WithContext(audit.WithActor(relay.WithClientClaim(r), audit.Actor{ClientIP: n.clientIP(r)}))
	ep := protocol.Lookup(r.URL.Path)
	rt, ok := n.routes[ep]
	if !ok {
		protocol.WriteError(w, http.StatusNotFound, protocol.CodeNotFound)
		return
	}
	if ep.Browser && r.Method == http.MethodOptions {
		n.preflight(w, r)
		return
	}
	if methods := rt.methodsOf(ep); !rt.anyMethod && !slices.Contains(methods, r.Method) {
		if ep.Browser {
			methods = append(methods, http.MethodOptions)
		}
		w.Header().Set("Allow", strings.Join(methods, ", "))
		protocol.WriteError(w, http.StatusMethodNotAllowed, protocol.CodeMethodNotAllowed)
		return
	}
	switch ep.Auth {
	case protocol.AuthKey:
		if p := n.authProject(w, r, ep.KeyRefusedCode()); p != nil {
			rt.keyed(w, r, p)
		}
	case protocol.AuthSession:
		if ep.Browser {
			relay.SetCORS(w.Header(), relay.AllowedOrigin(r, n.roster.AllTargets(r.Context())))
		}
		if rt.before != nil && !rt.before(w, r) {
			return
		}
		if c, p, ok := n.sessionFor(w, r); ok {
			rt.session(w, r, c, p)
		}
	default:
		rt.open(w, r)
	}
}

// clientIP is the address r came from, as the audit log names it.
func (n *Native) clientIP(r *http.Request) string {
	if n.cfg.ClientIP != nil {
		return n.cfg.ClientIP(r)
	}
	return relay.PeerIP(r)
}

// methodsOf are the methods rt answers for ep.
func (rt route) methodsOf(ep *protocol.Endpoint) []string {
	if rt.methods != nil {
		return slices.Clone(rt.methods)
	}
	return []string{ep.Method}
}

// preflight answers a Browser endpoint's preflight: only the sites of the
// callback origins may call it.
func (n *Native) preflight(w http.ResponseWriter, r *http.Request) {
	if origin := relay.AllowedOrigin(r, n.roster.AllTargets(r.Context())); origin != "" {
		relay.WritePreflight(w, origin)
		return
	}
	protocol.WriteError(w, http.StatusForbidden, protocol.CodeForbiddenOrigin)
}

// authProject checks the key of a keyed call and answers a refusal with
// refused (401), or 503 when the key records cannot be read.
func (n *Native) authProject(w http.ResponseWriter, r *http.Request, refused string) *roster.Project {
	key, ok := bearer(r)
	if ok {
		p, err := n.roster.ProjectForKey(r.Context(), key)
		if err == nil {
			relay.TrustClientClaim(r)
			return p
		}
		if !errors.Is(err, relay.ErrMalformedKey) {
			n.log.Error(r, "reading key records", zap.Error(err))
			protocol.WriteError(w, http.StatusServiceUnavailable, protocol.CodeServiceUnavailable)
			return nil
		}
	}
	protocol.WriteError(w, http.StatusUnauthorized, refused)
	return nil
}

// bearer returns the single Bearer credential of r.
func bearer(r *http.Request) (string, bool) {
	vals := r.Header.Values("Authorization")
	if len(vals) != 1 {
		return "", false
	}
	return relay.BearerToken(vals[0])
}
