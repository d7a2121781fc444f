package forward

import (
	"net/http"
	"testing"
)

// Every entry of a call names the request it belongs to by the id the
// server gave it (RequestID), never by anything the client sent: the
// refusal, the forwarded call and the upstream's failure alike.
func TestLogEntriesCarryRequestID(t *testing.T) {
	h := newHarness(t, func(c *ForwardConfig) {
		c.RequestID = func(r *http.Request) string { return "rid-" + r.Method }
	})
	hdr := http.Header{"Authorization": {"Bearer " + testKey}, "X-Request-Id": {"client-chosen"}}
	h.send(t, http.MethodGet, "/outstatic/nowhere", hdr, "")
	h.send(t, http.MethodPost, "/outstatic/scan", hdr, `{}`)
	h.svc.Server.Close()
	h.send(t, http.MethodPost, "/outstatic/generate", hdr, `{}`)

	entries := h.logs.All()
	if len(entries) < 4 {
		t.Fatalf("only %d log entries", len(entries))
	}
	for _, e := range entries {
		if e.LoggerName != "" {
			continue // the proxy's own standard logger
		}
		if got := e.ContextMap()["request_id"]; got != "rid-"+http.MethodGet && got != "rid-"+http.MethodPost {
			t.Errorf("%q: request_id %v", e.Message, got)
		}
	}
}
