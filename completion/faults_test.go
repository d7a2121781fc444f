package completion

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeai"
	"github.com/caddy-outstatic/caddy-outstatic/internal/faulty"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// TestStreamFaults puts the AI endpoint behind a fault injector: slow past
// the header timeout (it would answer after an hour), hung, reset, 500,
// malformed JSON, a 100 MB JSON body. Each completion ends with the
// plain-text answer the dashboard shows; a slow or hung endpoint gets the
// header timeout's answer (500ms here), the only thing that can end it,
// and sees the relay leave; the endpoint's 100 MB is not read (it never
// gets to write it all); and no goroutine is left behind.
func TestStreamFaults(t *testing.T) {
	ai := fakeai.New(fakeai.Reply{Chunks: []fakeai.Chunk{{Content: "ok", Finish: "stop"}}})
	defer ai.Close()
	up := faulty.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the fault injector's own endpoint is not used", http.StatusTeapot)
	}))
	up.Delay = time.Hour
	defer up.Close()
	srv := relay(t, newStreamer(t, &fakeai.Server{BaseURL: up.URL}, func(c *Config) { c.HeaderTimeout = 500 * time.Millisecond }))
	// warm: the endpoint's own handler answers 418: refused
	if resp := post(t, srv.URL, improveBody); resp.StatusCode != 502 {
		t.Fatalf("warm-up: %d", resp.StatusCode)
	}
	before := testwait.Running()
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
	cut := map[faulty.Fault]bool{faulty.Slow: true, faulty.Hang: true, faulty.Huge: true}
	for _, f := range faulty.All {
		up.Set(f)
		gaveUp := up.GaveUp()
		resp := post(t, srv.URL, improveBody)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want[f].status || string(b) != want[f].text {
			t.Errorf("%s: %d %q; want %d %q", f, resp.StatusCode, b, want[f].status, want[f].text)
		}
		if cut[f] {
			testwait.Until(t, "the endpoint seeing the relay leave during "+f.String(), func() bool { return up.GaveUp() > gaveUp })
		}
	}
	if sent := up.HugeSent(); sent >= faulty.HugeBytes {
		t.Errorf("the relay read all of a 100 MB answer")
	}
	testClient.CloseIdleConnections()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections() // the streamer's
	before.Ended(t, 0)
}
