package forward

import (
	"net/http"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
)

// TestClientHeaderPassedOnForKeyedCalls: a keyed call goes upstream with
// the browser its caller names, or else the caller's own address; an
// unkeyed call never carries the header on, whatever it sent; a keyed call
// that names its browser badly is refused here.
func TestClientHeaderPassedOnForKeyedCalls(t *testing.T) {
	h := newHarness(t)
	magic := `{"email":"ann@example.com","callbackUrl":"` + publicMagic + `"}`
	send := func(path, key, body string, claim ...string) (int, http.Header) {
		t.Helper()
		hdr := http.Header{"Content-Type": {"application/json"}}
		if key != "" {
			hdr.Set("Authorization", "Bearer "+key)
		}
		for i, c := range claim {
			// the first in its canonical spelling, others as a proxy may spell it
			name := protocol.ClientIPHeader
			if i > 0 {
				name = "X_Outstatic_Client_Ip"
			}
			hdr[name] = append(hdr[name], c)
		}
		resp, _ := h.send(t, http.MethodPost, path, hdr, body)
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode, nil
		}
		return resp.StatusCode, h.svc.Last(t).Header
	}
	status, got := send("/outstatic/auth/request-magic-link", testKey, magic, "203.0.113.7")
	if status != 200 || got.Values(protocol.ClientIPHeader)[0] != "203.0.113.7" || len(got.Values(protocol.ClientIPHeader)) != 1 {
		t.Fatalf("keyed call naming its browser: %d, upstream got %q", status, got.Values(protocol.ClientIPHeader))
	}
	status, got = send("/outstatic/auth/request-magic-link", testKey, magic)
	if status != 200 || got.Get(protocol.ClientIPHeader) != "127.0.0.1" {
		t.Fatalf("keyed call naming nobody: %d, upstream got %q, want the caller's address", status, got.Values(protocol.ClientIPHeader))
	}
	status, got = send("/outstatic/auth/refresh-token", "", `{"refresh_token":"rt"}`, "203.0.113.7", "198.51.100.1")
	if status != 200 || len(got.Values(protocol.ClientIPHeader)) != 0 || len(got.Values("X_Outstatic_Client_Ip")) != 0 {
		t.Fatalf("unkeyed call: %d, upstream got %v", status, got)
	}
	for _, bad := range [][]string{{"203.0.113.7", "198.51.100.1"}, {"localhost"}, {"203.0.113.7, 198.51.100.1"}} {
		resp, body := h.send(t, http.MethodPost, "/outstatic/auth/request-magic-link",
			http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + testKey}, protocol.ClientIPHeader: bad}, magic)
		wantError(t, resp, body, http.StatusBadRequest, protocol.CodeInvalidRequest)
	}
}
