package forward

import (
	"net/http"
	"testing"
)

// A call whose body the relay checks reaches the service without the query
// it came with: none of these endpoints takes one, and a callback, return
// URL or token put there would reach the service unchecked.
func TestCheckedCallsSendNoQuery(t *testing.T) {
	h := newHarness(t)
	h.mem.Remember("et_q", publicCallback)
	const q = "?callback_url=https%3A%2F%2Fevil.example%2Fapi%2Foutstatic%2Fcallback&returnUrl=https%3A%2F%2Fevil.example%2F&exchange_token=et_other"
	for _, c := range []struct{ path, body string }{
		{"/outstatic/auth/github-exchange", `{"callback_url":"` + publicCallback + `"}`},
		{"/outstatic/auth/google-exchange", `{"callbackUrl":"` + publicCallback + `"}`},
		{"/outstatic/auth/request-magic-link", `{"email":"a@b.co","callbackUrl":"` + publicMagic + `"}`},
		{"/outstatic/auth/validate-github-user", `{"github_token":"gho_x","callback_url":"` + publicCallback + `"}`},
		{"/outstatic/auth/exchange-token", `{"exchange_token":"et_q","callback_url":"http://localhost:3000/api/outstatic/callback"}`},
		{"/outstatic/auth/exchange-token", `{"exchange_token":"et_exact","callback_url":"` + publicCallback + `"}`},
	} {
		resp, got := h.post(t, c.path+q, testKey, c.body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", c.path, resp.StatusCode, got)
		}
		if rec := h.svc.Last(t); rec.Path != c.path || rec.RawQuery != "" {
			t.Errorf("%s: the service got %s?%s", c.path, rec.Path, rec.RawQuery)
		}
	}
}
