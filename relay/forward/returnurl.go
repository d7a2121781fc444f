package forward

import (
	"encoding/json"
	"net/http"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// forwardExchange forwards exchange-token and maps the reply's return_url
// back to the site. The relay sent the service only public URLs (every
// returnUrl the site sends is rewritten to the public site), so the
// service's return_url is public; the stock site follows a return_url only
// on its own listen origin (PROTOCOL.md §8) and otherwise fails the login
// after setting its cookie. A return_url the relay's targets accept goes
// back on the origin of the callback_url the site redeemed with, as the
// native relay answers; any other is passed on as it is, for the site to
// refuse. The reply is small JSON, held to be read.
func (f *Forwarder) forwardExchange(w http.ResponseWriter, r *http.Request, c *call, obj map[string]json.RawMessage, siteCallback string) {
	// A plain reply to read: see forwardMinting.
	r.Header.Del("Accept-Encoding")
	held := &heldReply{header: http.Header{}, limit: f.maxBody}
	f.hold(held, r, c, obj)
	if held.status == http.StatusOK && !held.overflow && !held.broken && siteCallback != "" {
		if body, ok := f.siteReturnReply(held.body.Bytes(), siteCallback); ok {
			held.body.Reset()
			held.body.Write(body)
			held.header.Del("Content-Length")
		}
	}
	writeHeld(w, c, held)
}

// siteReturnReply is reply with its return_url on siteCallback's origin,
// and whether that changed anything.
func (f *Forwarder) siteReturnReply(reply []byte, siteCallback string) ([]byte, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(reply, &obj) != nil || obj == nil {
		return nil, false
	}
	ret, ok := jsonString(obj["return_url"])
	if !ok || ret == "" {
		return nil, false
	}
	checked, err := f.targets.CheckReturnURL(f.publicURL(ret))
	if err != nil {
		return nil, false
	}
	site := relay.SiteReturnURL(checked, siteCallback)
	if site == ret {
		return nil, false
	}
	obj["return_url"] = encodeString(site)
	out, err := json.Marshal(obj)
	if err != nil {
		return nil, false
	}
	return out, true
}

// writeHeld sends a held reply on, or a 502 when it was over the limit or
// cut off.
func writeHeld(w http.ResponseWriter, c *call, held *heldReply) {
	if held.overflow {
		c.refuse(w, http.StatusBadGateway, protocol.CodeServiceUnavailable, "reply over the limit")
		return
	}
	if held.broken {
		c.refuse(w, http.StatusBadGateway, protocol.CodeServiceUnavailable, "reply cut off")
		return
	}
	for k, v := range held.header {
		w.Header()[k] = v
	}
	if held.status == 0 {
		held.status = http.StatusOK
	}
	w.WriteHeader(held.status)
	_, _ = w.Write(held.body.Bytes())
}
