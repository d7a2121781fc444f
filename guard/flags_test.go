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
		"Trailer": {"X-Outstatic-Pro, X-Kept"},
	}
	r := &http.Request{Header: h}
	s.stripRequest(r)
	if len(h) != 2 || h.Get("X-Outstatic-Other") != "kept" || h.Get("Trailer") != "X-Kept" {
		t.Fatalf("after stripping: %v", h)
	}
}

func TestFoldEqual(t *testing.T) {
	for key, want := range map[string]bool{
		"X-Outstatic-Pro": true, "x_outstatic.pro": true, "X-Outstatic-Pr0": false, "X-Outstatic-Pro-": false,
	} {
		if got := FoldEqual(key, "x-outstatic-pro"); got != want {
			t.Errorf("%s: %v", key, got)
		}
	}
}
