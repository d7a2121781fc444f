package forward

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// The service's trailers do not reach the client: a Set-Cookie or CORS
// header the relay strips from the service's headers must not come back as
// a trailer, declared or not, on a streamed reply, nor as a header of a
// reply the relay holds to read (exchange-token, validate-github-user).
func TestServiceTrailersDropped(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "Set-Cookie, Access-Control-Allow-Origin")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"exchange_token":"et_trailer","valid":true}`))
		w.Header().Set("Set-Cookie", "declared=1")
		w.Header().Set("Access-Control-Allow-Origin", "https://evil.example")
		w.Header().Set(http.TrailerPrefix+"Set-Cookie", "undeclared=1")
		w.Header().Set(http.TrailerPrefix+"Access-Control-Allow-Credentials", "true")
	}))
	defer up.Close()
	h := newHarness(t, func(c *ForwardConfig) {
		u, err := url.Parse(up.URL + "/api")
		if err != nil {
			t.Fatal(err)
		}
		c.Upstream = u
	})
	key := http.Header{"Authorization": {"Bearer " + testKey}, "Content-Type": {"application/json"}}
	for _, c := range []struct{ path, body string }{
		{"/outstatic/generate", `{"prompt":"p","option":"continue"}`},
		{"/outstatic/auth/refresh-token", `{"refresh_token":"rt"}`},
		{"/github/parser", `{"query":"query GetRepoInfo{}"}`},
		{"/outstatic/auth/exchange-token", `{"exchange_token":"et_1","callback_url":"` + publicCallback + `"}`},
		{"/outstatic/auth/validate-github-user", `{"github_token":"gt","callback_url":"` + publicCallback + `"}`},
	} {
		resp, body := h.send(t, http.MethodPost, c.path, key, c.body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", c.path, resp.StatusCode, body)
		}
		for _, hdr := range []http.Header{resp.Header, resp.Trailer} {
			for _, name := range []string{"Set-Cookie", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Trailer"} {
				if v := hdr.Values(name); len(v) > 0 {
					t.Errorf("%s: the client got %s %q", c.path, name, v)
				}
			}
		}
		if len(resp.Trailer) > 0 {
			t.Errorf("%s: the client got trailers %v", c.path, resp.Trailer)
		}
	}
}
