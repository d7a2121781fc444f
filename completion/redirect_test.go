package completion

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// The request goes to the configured endpoint only: a redirect it answers,
// to another host or its own, is not followed (a 307 or 308 would send the
// prompt on to wherever it points) and is answered as an endpoint that is
// unavailable.
func TestStreamDoesNotFollowRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"leaked\"},\"finish_reason\":\"stop\"}]}\n\n")
	}))
	defer other.Close()
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/v1/chat/completions", code)
		}))
		s, err := New(Config{BaseURL: endpoint.URL + "/v1", APIKey: testKey, Model: "m"})
		if err != nil {
			t.Fatal(err)
		}
		srv := relay(t, s)
		resp := post(t, srv.URL, improveBody)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		endpoint.Close()
		if resp.StatusCode != http.StatusBadGateway || string(b) != textUnavailable {
			t.Errorf("%d: answer %d %q", code, resp.StatusCode, b)
		}
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the redirect was followed %d times", n)
	}
}
