package completion

import (
	"io"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeai"
	"github.com/caddy-outstatic/caddy-outstatic/internal/faulty"
)

// TestStreamFaults puts the AI endpoint behind a fault injector: slow past
// the header timeout, hung, reset, 500, malformed JSON, a 100 MB JSON
// body. Each completion ends within the header timeout (500ms here) with
// the plain-text answer the dashboard shows, the endpoint's 100 MB is not
// read, and no goroutine is left behind.
func TestStreamFaults(t *testing.T) {
	ai := fakeai.New(fakeai.Reply{Chunks: []fakeai.Chunk{{Content: "ok", Finish: "stop"}}})
	defer ai.Close()
	up := faulty.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the fault injector's own endpoint is not used", http.StatusTeapot)
	}))
	defer up.Close()
	srv := relay(t, newStreamer(t, &fakeai.Server{BaseURL: up.URL}, func(c *Config) { c.HeaderTimeout = 500 * time.Millisecond }))
	// warm: the connections a healthy exchange leaves open count in the
	// baseline (the endpoint's own handler answers 418: refused)
	if resp := post(t, srv.URL, improveBody); resp.StatusCode != 502 {
		t.Fatalf("warm-up: %d", resp.StatusCode)
	}
	time.Sleep(100 * time.Millisecond)
	baseline := runtime.NumGoroutine()
	want := map[faulty.Fault]struct {
		status int
		text   string
	}{
		faulty.Slow:      {504, textTimeout},
		faulty.Hang:      {504, textTimeout},
		faulty.Reset:     {502, textUnavailable},
		faulty.Status500: {502, textUnavailable},
		faulty.Malformed: {502, textUnavailable},
		faulty.Huge:      {502, textUnavailable},
	}
	for _, f := range faulty.All {
		up.Set(f)
		began := time.Now()
		resp := post(t, srv.URL, improveBody)
		b, _ := io.ReadAll(resp.Body)
		took := time.Since(began)
		if resp.StatusCode != want[f].status || string(b) != want[f].text || took > 1500*time.Millisecond {
			t.Errorf("%s: %d %q in %v; want %d %q within the header timeout", f, resp.StatusCode, b, took, want[f].status, want[f].text)
		}
	}
	http.DefaultClient.CloseIdleConnections()
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); n > baseline && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(50 * time.Millisecond)
	}
	if n > baseline {
		t.Errorf("goroutines: %d before the faults, %d after", baseline, n)
	}
}
