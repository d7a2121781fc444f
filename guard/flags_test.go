package guard

import (
	"net/http"
	"testing"
)

func TestStripEverySpelling(t *testing.T) {
	names := HeaderNames{}.withDefaults().canonical()
	s := newHeaderStripper(names)
	h := http.Header{
		"X-Outstatic-Pro": {"true"}, "x_outstatic_pro": {"true"}, "X.Outstatic.Features": {"all"},
		"X-OUTSTATIC-PROJECT": {"p"}, "X-Outstatic-Other": {"kept"},
		"X-Outstatic-Client-Ip": {"192.0.2.1"}, "x_outstatic_client.ip": {"192.0.2.2"},
		"Trailer": {"X-Outstatic-Pro, X-Kept"},
	}
	r := &http.Request{Header: h}
	s.stripRequest(r)
	if len(h) != 2 || h.Get("X-Outstatic-Other") != "kept" || h.Get("Trailer") != "X-Kept" {
		t.Fatalf("after stripping: %v", h)
	}
}
