package relay

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// Callback and return-URL fields, in every spelling the protocol uses. The
// stock site sends one spelling per endpoint, but a body that also carries
// another is checked in full: which one the service reads is its business,
// and whichever it reads must have been checked.
var (
	callbackFields = []string{"callback_url", "callbackUrl"}
	returnFields   = []string{"returnUrl", "return_url"}
)

// serveCallbacks handles the calls that start a login or check a user
// (github-exchange, google-exchange, request-magic-link,
// validate-github-user): every callback and return URL in the body is
// rewritten from the app's own address to the public site, checked, and
// sent in canonical form. One refused field refuses the call locally.
func (f *Forwarder) serveCallbacks(w http.ResponseWriter, r *http.Request, c *call) {
	obj, ok := f.readObject(w, r, c)
	if !ok {
		return
	}
	for _, name := range callbackFields {
		raw, present := obj[name]
		if !present && name != c.ep.callback {
			continue
		}
		s, ok := jsonString(raw)
		if !ok {
			c.refuse(w, http.StatusBadRequest, validate.CodeInvalidCallbackTarget, name+" is missing or not a string")
			return
		}
		t, err := f.targets.Check(f.publicURL(s))
		if err != nil {
			refuseChecked(w, c, err)
			return
		}
		obj[name] = encodeString(t.URL)
	}
	for _, name := range returnFields {
		raw, present := obj[name]
		if !present || string(raw) == "null" {
			// Optional: the service picks its own default.
			continue
		}
		s, ok := jsonString(raw)
		if !ok {
			c.refuse(w, http.StatusBadRequest, validate.CodeInvalidCallbackTarget, name+" is not a string")
			return
		}
		u, err := f.targets.CheckReturnURL(f.publicURL(s))
		if err != nil {
			refuseChecked(w, c, err)
			return
		}
		obj[name] = encodeString(u)
	}
	f.forwardObject(w, r, c, obj)
}

// serveExchange handles exchange-token. The site redeems a token with the
// callback it believes it has (its listen address); the token was issued
// for the public callback, which the guard recorded when the token passed
// it. With such a record, that callback is sent. Without one, the token
// never passed a guard, and the callback must pass the check as sent: no
// rewriting from the app's address, so nobody can redeem for the public
// site a token delivered elsewhere.
func (f *Forwarder) serveExchange(w http.ResponseWriter, r *http.Request, c *call) {
	obj, ok := f.readObject(w, r, c)
	if !ok {
		return
	}
	recorded, found := "", false
	if token, ok := jsonString(obj["exchange_token"]); ok && token != "" && f.callbacks != nil {
		recorded, found = f.callbacks.Take(token)
	}
	if found {
		c.callback = "recorded"
		// Checked again: the record may come from a store other
		// instances write to, and the relay sends only what its own
		// configuration allows.
		t, err := f.targets.Check(recorded)
		if err != nil {
			refuseChecked(w, c, err)
			return
		}
		for _, name := range callbackFields {
			if _, present := obj[name]; present || name == "callback_url" {
				obj[name] = encodeString(t.URL)
			}
		}
		f.forwardObject(w, r, c, obj)
		return
	}
	c.callback = "exact"
	for _, name := range callbackFields {
		raw, present := obj[name]
		if !present && name != "callback_url" {
			continue
		}
		s, ok := jsonString(raw)
		if !ok {
			c.refuse(w, http.StatusBadRequest, validate.CodeInvalidCallbackTarget, name+" is missing or not a string")
			return
		}
		t, err := f.targets.Check(s)
		if err != nil {
			refuseChecked(w, c, err)
			return
		}
		obj[name] = encodeString(t.URL)
	}
	f.forwardObject(w, r, c, obj)
}

// refuseChecked answers a refused callback or return URL with the code the
// check chose; every one of them is a 400 in the protocol.
func refuseChecked(w http.ResponseWriter, c *call, err error) {
	var ve *validate.Error
	if !errors.As(err, &ve) {
		ve = &validate.Error{Code: validate.CodeInvalidCallbackTarget, Reason: err.Error()}
	}
	c.refuse(w, http.StatusBadRequest, ve.Code, ve.Reason)
}

// readObject reads the request body, bounded, as one JSON object whose
// values are kept raw, so fields the relay does not know pass on as sent.
func (f *Forwarder) readObject(w http.ResponseWriter, r *http.Request, c *call) (map[string]json.RawMessage, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, f.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			c.refuse(w, http.StatusRequestEntityTooLarge, codeTooLarge, "body over the limit")
		} else {
			c.refuse(w, http.StatusBadRequest, codeInvalidRequest, "body could not be read")
		}
		return nil, false
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		c.refuse(w, http.StatusBadRequest, codeInvalidRequest, "body is not a JSON object")
		return nil, false
	}
	return obj, true
}

// forwardObject sends obj as the body. Re-encoding rather than patching
// the original bytes means the service sees each field once: a body with a
// field twice cannot carry a checked copy for the relay and another one
// for the service.
func (f *Forwarder) forwardObject(w http.ResponseWriter, r *http.Request, c *call, obj map[string]json.RawMessage) {
	body, err := json.Marshal(obj)
	if err != nil {
		// Unreachable: every value is valid JSON, decoded or encoded here.
		c.refuse(w, http.StatusBadRequest, codeInvalidRequest, "body could not be encoded")
		return
	}
	f.forward(w, r, c, body)
}

// jsonString decodes raw if it is a JSON string.
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// encodeString encodes s as a JSON string, leaving <, > and & as they
// are: the value is a URL, not HTML.
func encodeString(s string) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// publicURL replaces the app's own origin in raw (http or https, one of
// the app hosts) with the primary callback origin's site, keeping the rest
// byte for byte. The stock site builds its callbacks from its listen
// address (PROTOCOL.md §6); only the edge knows the public one. Anything
// else is returned as it is, for the check to judge.
func (f *Forwarder) publicURL(raw string) string {
	return publicURL(raw, f.targets, f.appHosts)
}

// publicURL is Forwarder.publicURL for any targets and app hosts.
func publicURL(raw string, targets validate.Targets, appHosts []string) string {
	if len(targets.Origins) == 0 {
		return raw
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return raw
	}
	// The authority ends where a browser ends it, so a trailing part such
	// as "@evil.com" or "\@evil.com" is never read as the app's host.
	end := strings.IndexAny(rest, `/?#\`)
	if end < 0 {
		end = len(rest)
	}
	host, port, err := validate.ParseHostPort(scheme, rest[:end])
	if err != nil {
		return raw
	}
	// A configured origin on the app's own address (a development origin
	// such as http://localhost:3000/outstatic) is a real callback there.
	for _, o := range targets.Origins {
		if o.MatchesSite(scheme, rest[:end]) {
			return raw
		}
	}
	for _, app := range appHosts {
		// Parsed under the URL's scheme, so "localhost:80" matches
		// "http://localhost" and default ports compare as no port.
		ah, ap, err := validate.ParseHostPort(scheme, app)
		if err == nil && ah == host && ap == port {
			return targets.Origins[0].SiteOrigin() + rest[end:]
		}
	}
	return raw
}
