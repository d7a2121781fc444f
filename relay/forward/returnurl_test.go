package forward

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
)

// The service's return_url is public (the relay sent it only public
// URLs); the stock site follows a return_url only on its own listen
// origin, so the relay sends it back on the origin of the callback the
// site redeemed with, path and query kept. One the targets refuse passes
// on as it is, for the site to refuse.
func TestExchangeTokenReturnURLToSite(t *testing.T) {
	h := newHarness(t)
	var reply, got atomic.Pointer[string]
	set := func(s string) { reply.Store(&s) }
	set(`{"user":{"email":"a@b.co"},"session":{"access_token":"at_1"},"return_url":"` + publicReturn + `/collections/posts?x=1"}`)
	h.svc.Hook("/outstatic/auth/exchange-token", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Callback string `json:"callback_url"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		got.Store(&in.Callback)
		fakeservice.CannedJSON(w, http.StatusOK, *reply.Load())
	})
	redeem := func(token string) map[string]any {
		t.Helper()
		h.mem.Remember(token, publicCallback)
		resp, body := h.post(t, "/outstatic/auth/exchange-token", "", `{"exchange_token":"`+token+`","callback_url":"`+appCallback+`"}`)
		var out map[string]any
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("exchange-token: %d %s", resp.StatusCode, body)
		}
		if cb := got.Load(); cb == nil || *cb != publicCallback {
			t.Fatalf("service got callback %v", cb)
		}
		return out
	}
	out := redeem("et_ret")
	if got := out["return_url"]; got != "http://localhost:3000/outstatic/collections/posts?x=1" {
		t.Errorf("return_url %v, want it on the site's listen origin", got)
	}
	if s, _ := out["session"].(map[string]any); s["access_token"] != "at_1" {
		t.Errorf("the rest of the reply changed: %v", out)
	}
	// Another site's return_url is not the relay's to map.
	set(`{"session":{"access_token":"at_2"},"return_url":"https://evil.example/outstatic"}`)
	if got := redeem("et_evil")["return_url"]; got != "https://evil.example/outstatic" {
		t.Errorf("a foreign return_url became %v", got)
	}
	// No return_url: none added.
	set(`{"session":{"access_token":"at_3"}}`)
	if out := redeem("et_none"); out["return_url"] != nil {
		t.Errorf("return_url added: %v", out)
	}
}
