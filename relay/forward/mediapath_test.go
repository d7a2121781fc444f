package forward

import (
	"net/http"
	"testing"
)

// A media path with a backslash or a control character in a segment is
// refused like a dot segment: a service (or what it calls with the user's
// token) that reads "\" as "/" would resolve "..\" out of the media proxy.
func TestMediaPathBackslashAndControlRefused(t *testing.T) {
	h := newHarness(t)
	auth := http.Header{"Authorization": {"Bearer at_1"}}
	for _, path := range []string{
		"/outstatic/media/acme/blog/main/..%5C..%5C..%5Cproject",
		"/outstatic/media/acme/blog/main/..%5c",
		"/outstatic/media/acme/blog/main/a%5Cb.png",
		"/outstatic/media/acme/blog/main/a%00b.png",
		"/outstatic/media/acme/blog/main/a%0Ab.png",
		"/outstatic/media/acme/blog/main/a%7Fb.png",
		"/outstatic/media/acme/blog%5C..%5C/main/x.png",
	} {
		resp, body := h.send(t, http.MethodGet, path, auth, "")
		wantError(t, resp, body, http.StatusNotFound, "not-found")
	}
	if n := h.svc.Count(); n != 0 {
		t.Errorf("the service received %d requests, want 0", n)
	}
}
