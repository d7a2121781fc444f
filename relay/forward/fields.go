package forward

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// Callback and return-URL fields, in every spelling the protocol uses. The
// stock site sends one spelling per endpoint, but a body that also carries
// another is checked in full: which one the service reads is its business,
// and whichever it reads must have been checked.
var (
	callbackFields = []string{"callback_url", "callbackUrl"}
	returnFields   = []string{"returnUrl", "return_url"}
	// checkedFields are every field the relay reads or checks: a body may
	// not carry another spelling of one (see checkKeys).
	checkedFields = append(append([]string{"exchange_token"}, callbackFields...), returnFields...)
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
	checked := ""
	for _, name := range callbackFields {
		raw, present := obj[name]
		if !present && name != c.ep.CallbackField {
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
		if name == c.ep.CallbackField {
			checked = t.URL
		}
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
	if c.ep.Label == "validate-github-user" {
		f.forwardMinting(w, r, c, obj, checked)
		return
	}
	f.forwardObject(w, r, c, obj)
}

// forwardMinting forwards validate-github-user and records the public
// callback for the exchange token the service answers with. The site
// redeems that token at once, naming its listen address (PROTOCOL.md §8);
// the token never passes a guard, so without this record the redemption
// would be refused. The reply is small JSON: it is held until the record
// is made, so the site cannot redeem before it exists.
func (f *Forwarder) forwardMinting(w http.ResponseWriter, r *http.Request, c *call, obj map[string]json.RawMessage, callback string) {
	// A plain reply to read: Go's transport asks for gzip itself and
	// decodes it, which it does not for an encoding the site asked for.
	r.Header.Del("Accept-Encoding")
	held := &heldReply{header: http.Header{}, limit: f.maxBody}
	f.hold(held, r, c, obj)
	if held.status == http.StatusOK && !held.broken && f.callbacks != nil && callback != "" {
		var reply struct {
			Token json.RawMessage `json:"exchange_token"`
		}
		_ = json.Unmarshal(held.body.Bytes(), &reply)
		if token, ok := jsonString(reply.Token); ok && token != "" {
			if !f.callbacks.Remember(token, callback) {
				f.log.Warn("the service answered an exchange token seen before",
					zap.String("endpoint", c.name()), f.requestID.Field(r))
			}
		}
	}
	writeHeld(w, c, held)
}

// heldReply is a ResponseWriter that keeps a bounded reply in memory.
type heldReply struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	limit    int64
	overflow bool
	broken   bool // the reply was cut off: the call's time ran out, or the service broke the connection
}

// hold forwards obj into held. A reply cut off while its body is copied
// makes the proxy abort the handler (http.ErrAbortHandler); a held reply
// has not been sent yet, so it is marked broken instead, for writeHeld to
// answer 502.
func (f *Forwarder) hold(held *heldReply, r *http.Request, c *call, obj map[string]json.RawMessage) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				panic(p)
			}
			held.broken = true
		}
	}()
	f.forwardObject(held, r, c, obj)
}

// Header returns the reply's header map.
func (h *heldReply) Header() http.Header { return h.header }

// WriteHeader records the first final status.
func (h *heldReply) WriteHeader(code int) {
	if h.status == 0 && code >= 200 {
		h.status = code
	}
}

// Write keeps b, up to the limit. Beyond it, the rest is read and dropped
// rather than failed: a failed write makes the proxy abort the connection,
// and the site should get a 502 instead.
func (h *heldReply) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	if h.overflow || int64(h.body.Len()+len(b)) > h.limit {
		h.overflow = true
		return len(b), nil
	}
	return h.body.Write(b)
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
	// The site's own callback, as sent: where its return_url goes back to.
	siteCallback, _ := jsonString(obj["callback_url"])
	if siteCallback == "" {
		siteCallback, _ = jsonString(obj["callbackUrl"])
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
		f.forwardExchange(w, r, c, obj, siteCallback)
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
	f.forwardExchange(w, r, c, obj, siteCallback)
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
			c.refuse(w, http.StatusRequestEntityTooLarge, protocol.CodeTooLarge, "body over the limit")
		} else {
			c.refuse(w, http.StatusBadRequest, protocol.CodeInvalidRequest, "body could not be read")
		}
		return nil, false
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		c.refuse(w, http.StatusBadRequest, protocol.CodeInvalidRequest, "body is not a JSON object")
		return nil, false
	}
	if err := checkKeys(body); err != nil {
		code := protocol.CodeInvalidRequest
		if errors.Is(err, protocol.ErrFieldAlias) {
			code = validate.CodeInvalidCallbackTarget
		}
		c.refuse(w, http.StatusBadRequest, code, err.Error())
		return nil, false
	}
	return obj, true
}

// checkKeys refuses a body that a decoder upstream could read otherwise
// than the relay (protocol.CheckKeys): a key twice in any object (which
// copy wins is the decoder's choice), or a top-level key that is not a
// checked field but that a case-insensitive decoder reads as one. Go's
// encoding/json matches names as strings.EqualFold does (the Kelvin sign
// U+212A is "k", the long s U+017F is "s"), and its v2 can also ignore "_"
// and "-"; the relay checks only the exact names, so any such spelling is
// refused (protocol.ErrFieldAlias).
func checkKeys(body []byte) error { return protocol.CheckKeys(body, checkedFields) }

// forwardObject sends obj as the body. Re-encoding rather than patching
// the original bytes means the service sees each field once: a body with a
// field twice cannot carry a checked copy for the relay and another one
// for the service.
func (f *Forwarder) forwardObject(w http.ResponseWriter, r *http.Request, c *call, obj map[string]json.RawMessage) {
	body, err := json.Marshal(obj)
	if err != nil {
		// Unreachable: every value is valid JSON, decoded or encoded here.
		c.refuse(w, http.StatusBadRequest, protocol.CodeInvalidRequest, "body could not be encoded")
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
	return relay.PublicURL(raw, f.targets, f.appHosts)
}
