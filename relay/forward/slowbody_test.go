package forward

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// A service that sends its headers and then holds the rest of a small JSON
// reply does not hold the site's call: the calls whose bodies the relay
// checks are bounded as a whole, reply included. A reply the relay holds to
// read (exchange-token, validate-github-user) is answered 502, as one that
// never came; a reply already on its way is cut off.
func TestSlowReplyBodyBounded(t *testing.T) {
	h := newHarness(t, func(c *ForwardConfig) { c.CallTimeout = 300 * time.Millisecond })
	for _, path := range []string{"/outstatic/auth/exchange-token", "/outstatic/auth/validate-github-user", "/outstatic/auth/github-exchange"} {
		h.svc.Hook(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"exchange_token":`)
			http.NewResponseController(w).Flush()
			<-r.Context().Done()
		})
	}
	body := `{"exchange_token":"et_slow","github_token":"gt","callback_url":"` + publicCallback + `"}`
	call := func(path string) (*http.Response, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), testwait.Bound)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.relay.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := h.relay.Client().Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if ctx.Err() != nil {
			t.Fatalf("%s: the call was not bounded", path)
		}
		return resp, string(b), err
	}
	for _, path := range []string{"/outstatic/auth/exchange-token", "/outstatic/auth/validate-github-user"} {
		resp, got, err := call(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		wantError(t, resp, got, http.StatusBadGateway, "service-unavailable")
	}
	if _, _, err := call("/outstatic/auth/github-exchange"); err == nil {
		t.Error("github-exchange: a reply cut off by the call's bound read as complete")
	}
}
