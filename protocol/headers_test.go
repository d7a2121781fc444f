package protocol

import (
	"net/http"
	"slices"
	"testing"
)

func TestFoldEqual(t *testing.T) {
	for key, want := range map[string]bool{
		"X-Outstatic-Pro": true, "x_outstatic.pro": true, "X-Outstatic-Pr0": false, "X-Outstatic-Pro-": false,
	} {
		if got := FoldEqual(key, "x-outstatic-pro"); got != want {
			t.Errorf("%s: %v", key, got)
		}
	}
}

// TestTakeHeader: every spelling goes, with all its values; other headers
// stay.
func TestTakeHeader(t *testing.T) {
	h := http.Header{
		ClientIPHeader:          {"192.0.2.1"},
		"X_outstatic_client_ip": {"192.0.2.2", "192.0.2.3"},
		"X.Outstatic.Client.Ip": {"192.0.2.4"},
		"X-Outstatic-Client":    {"kept"},
	}
	got := TakeHeader(h, "x-outstatic-client-ip")
	slices.Sort(got)
	if !slices.Equal(got, []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}) {
		t.Errorf("values %v", got)
	}
	if len(h) != 1 || h.Get("X-Outstatic-Client") != "kept" {
		t.Errorf("left %v", h)
	}
	if got := TakeHeader(h, "x-outstatic-client-ip"); got != nil {
		t.Errorf("second take: %v", got)
	}
}
