package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/mail"
	"net/netip"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// The relay start. Behind a proxy the stock site builds every callback from
// its listen address (http://localhost:3000/...), so the service either
// refuses the login or sends the browser to localhost. The guard knows the
// public origin, so when it holds the key it answers login, google-login and
// magic-link itself, exactly as the stock site would, with the canonical
// public callback.

// serviceError is the service's JSON error body.
type serviceError struct {
	Error string `json:"error"`
}

// callService POSTs body to the service endpoint for the browser's request
// r and returns the status and the (bounded) reply. The context bounds it.
// The call names the browser's address (protocol.ClientIPHeader), so that
// the relay limits each browser and not the guard, which makes every
// browser's calls from one address.
func (g *Guard) callService(ctx context.Context, r *http.Request, endpoint string, body any) (int, []byte, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.serviceURL+endpoint, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+g.apiKey)
	req.Header.Set("User-Agent", "caddy-outstatic")
	if ip, err := netip.ParseAddr(g.clientIP(r)); err == nil {
		req.Header.Set(protocol.ClientIPHeader, ip.Unmap().WithZone("").String())
	}
	res, err := g.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, reply, err
}

// logCallFailed logs a call to the relay (the guard's service) that got
// no usable answer; the browser gets only the protocol's code, so the log
// says plainly when it is the relay that could not be reached: which URL,
// and the dial error.
func (g *Guard) logCallFailed(r *http.Request, msg, endpoint string, err error) {
	relayURL := zap.String("relay_url", g.serviceURL+endpoint)
	var unreached *url.Error
	if !errors.As(err, &unreached) {
		// reached, but its reply broke off
		g.log.Warn(r, msg+": the relay's reply could not be read", relayURL, zap.Error(err))
		return
	}
	what := "the relay could not be reached"
	if unreached.Timeout() {
		what = "the relay did not answer within " + g.startTimeout.String()
	}
	g.log.Error(r, msg+": "+what, relayURL, zap.Error(unreached.Err),
		zap.String("fix", "check that the relay at "+g.serviceURL+" (the guard's service) is running and reachable from this Caddy"))
}

// startURL calls a login-start endpoint and returns the service's url, or
// the status and error code to answer with, as the stock site maps them.
func (g *Guard) startURL(r *http.Request, endpoint string, body any, failed string) (string, int, string) {
	ctx, cancel := context.WithTimeout(r.Context(), g.startTimeout)
	defer cancel()
	status, reply, err := g.callService(ctx, r, endpoint, body)
	if err != nil {
		g.logCallFailed(r, "relay start failed", endpoint, err)
		return "", http.StatusInternalServerError, failed
	}
	if status < 200 || status > 299 {
		var e serviceError
		_ = json.Unmarshal(reply, &e)
		code := failed
		if protocol.PassedThrough[e.Error] {
			code = e.Error
		}
		g.log.Info(r, "relay start refused by the service", zap.String("endpoint", endpoint), zap.Int("status", status), zap.String("code", code))
		return "", status, code
	}
	var ok struct {
		URL string `json:"url"`
	}
	if json.Unmarshal(reply, &ok) != nil || !isHTTPURL(ok.URL) {
		g.log.Warn(r, "relay start: the service answered no usable url", zap.String("endpoint", endpoint))
		return "", http.StatusInternalServerError, failed
	}
	return ok.URL, 0, ""
}

// isHTTPURL reports whether s is an absolute http(s) URL, so that a
// compromised or confused service cannot send the browser to javascript:.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

// startGitHub answers GET login: {url} or {error} with the service's status.
func (g *Guard) startGitHub(w http.ResponseWriter, r *http.Request, route authRoute) error {
	body := map[string]string{"callback_url": route.origin.CallbackURL(validate.RouteCallback, false)}
	u, status, code := g.startURL(r, protocol.GitHubExchange.Path, body, protocol.CodeGitHubRelayFailed)
	g.started(protocol.RouteLogin, u != "")
	if u == "" {
		return protocol.WriteError(w, status, code)
	}
	g.bindStart(w, route, g.bindLogin)
	return protocol.WriteJSON(w, http.StatusOK, map[string]string{"url": u})
}

// startGoogle answers google-login: GET redirects (302) to the service's
// url, POST answers {url}. returnUrl, from the query or the POST body, must
// be on the site; the default is the dashboard.
func (g *Guard) startGoogle(w http.ResponseWriter, r *http.Request, route authRoute) error {
	returnURL := route.origin.String()
	raw := r.URL.Query().Get("returnUrl")
	if r.Method == http.MethodPost {
		var in struct {
			ReturnURL string `json:"returnUrl"`
		}
		if err := readStartBody(r, &in); err != nil {
			return protocol.WriteError(w, http.StatusBadRequest, protocol.CodeSiteInvalidURL)
		}
		raw = in.ReturnURL
	}
	if raw != "" {
		checked, err := route.set.targets().CheckReturnURL(raw)
		if err != nil {
			g.refuse(r, "google-login returnUrl refused", zap.Error(err))
			return protocol.WriteError(w, http.StatusBadRequest, protocol.CodeSiteInvalidURL)
		}
		returnURL = checked
	}
	body := map[string]string{
		"callbackUrl": route.origin.CallbackURL(validate.RouteCallback, false),
		"returnUrl":   returnURL,
	}
	u, status, code := g.startURL(r, protocol.GoogleExchange.Path, body, protocol.CodeGoogleRelayFailed)
	g.started(protocol.RouteGoogleLogin, u != "")
	if r.Method == http.MethodPost {
		if u == "" {
			return protocol.WriteError(w, status, code)
		}
		g.bindStart(w, route, g.bindLogin)
		return protocol.WriteJSON(w, http.StatusOK, map[string]string{"url": u})
	}
	w.Header().Set("Cache-Control", "no-store")
	if u == "" {
		http.Redirect(w, r, withError(returnURL, code), http.StatusFound)
		return nil
	}
	g.bindStart(w, route, g.bindLogin)
	http.Redirect(w, r, u, http.StatusFound)
	return nil
}

// startMagicLink answers POST magic-link {email, returnUrl?} with
// {success:true} or the stock site's errors.
func (g *Guard) startMagicLink(w http.ResponseWriter, r *http.Request, route authRoute) error {
	var in struct {
		Email     *string `json:"email"`
		ReturnURL string  `json:"returnUrl"`
	}
	if err := readStartBody(r, &in); err != nil {
		return protocol.WriteError(w, http.StatusBadRequest, protocol.CodeSiteInvalidEmail)
	}
	if in.Email == nil || *in.Email == "" {
		return protocol.WriteError(w, http.StatusBadRequest, protocol.CodeSiteEmailRequired)
	}
	if !validEmail(*in.Email) {
		return protocol.WriteError(w, http.StatusBadRequest, protocol.CodeSiteInvalidEmail)
	}
	returnURL := route.origin.String()
	if in.ReturnURL != "" {
		checked, err := route.set.targets().CheckReturnURL(in.ReturnURL)
		if err != nil {
			g.refuse(r, "magic-link returnUrl refused", zap.Error(err))
			return protocol.WriteError(w, http.StatusBadRequest, protocol.CodeSiteInvalidURL)
		}
		returnURL = checked
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.startTimeout)
	defer cancel()
	status, reply, err := g.callService(ctx, r, protocol.RequestMagicLink.Path, map[string]string{
		"email":       *in.Email,
		"callbackUrl": route.origin.CallbackURL(validate.RouteMagicLinkCallback, false),
		"returnUrl":   returnURL,
	})
	g.started(protocol.RouteMagicLink, err == nil && status >= 200 && status <= 299)
	switch {
	case err != nil:
		g.logCallFailed(r, "magic link request failed", protocol.RequestMagicLink.Path, err)
		return protocol.WriteError(w, http.StatusInternalServerError, protocol.CodeSiteInternalError)
	case status == http.StatusUnauthorized && bytes.Contains(reply, []byte(`"Invalid API key"`)):
		return protocol.WriteError(w, http.StatusUnauthorized, protocol.CodeInvalidAPIKey)
	case status < 200 || status > 299:
		g.log.Info(r, "magic link refused by the service", zap.Int("status", status))
		return protocol.WriteError(w, http.StatusInternalServerError, protocol.CodeSiteMagicLinkFailed)
	}
	g.bindStart(w, route, g.bindMagic)
	return protocol.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// started counts a relay start at the edge.
func (g *Guard) started(route string, ok bool) {
	if g.countStart != nil {
		g.countStart(route, ok)
	}
}

// bindStart sets the login binding when a login really started here.
func (g *Guard) bindStart(w http.ResponseWriter, route authRoute, enabled bool) {
	if enabled {
		g.binding.set(w, route.origin.Scheme == "https", route.origin.SiteOrigin())
	}
}

// validEmail accepts a bare address of at most 254 bytes.
func validEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " \t\r\n<>") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

// withError adds ?error=code (or &error=code) to a checked URL.
func withError(u, code string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "error=" + url.QueryEscape(code)
}

// readStartBody reads a start's JSON body; the stock sign-in page may send
// none, which counts as an empty object.
func readStartBody(r *http.Request, v any) error {
	if err := protocol.ReadJSON(r.Body, v); err != nil && !errors.Is(err, protocol.ErrEmptyBody) {
		return err
	}
	return nil
}
