// Command streamsvc stands in for the Outstatic service behind a forward
// relay in bench/relay.sh: it answers the key check (#1) for -key and AI
// completions (#8) as a UI message stream of -events text deltas, -gap
// apart, each flushed as it is written, so that a relay that buffered the
// stream would show in its time to first byte.
package main

import (
	"crypto/subtle"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:19300", "listen address")
	key := flag.String("key", "", "the site's API key (required)")
	events := flag.Int("events", 20, "text deltas per completion")
	gap := flag.Duration("gap", 10*time.Millisecond, "pause between deltas")
	flag.Parse()
	if *key == "" {
		fmt.Fprintln(os.Stderr, "streamsvc: -key is required")
		os.Exit(2)
	}
	keyed := func(r *http.Request) bool {
		return subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+*key)) == 1
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/outstatic/project", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !keyed(r) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid-api-key"}`)
			return
		}
		fmt.Fprint(w, `{"project_id":"blog","project_slug":"blog","account_slug":"acme","repo_owner":"acme","repo_slug":"blog","monorepo_path":"","is_pro":true}`)
	})
	mux.HandleFunc("POST /api/outstatic/generate", func(w http.ResponseWriter, r *http.Request) {
		if !keyed(r) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid-api-key"}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("x-vercel-ai-ui-message-stream", "v1")
		f := w.(http.Flusher)
		send := func(s string) { fmt.Fprintf(w, "data: %s\n\n", s); f.Flush() }
		send(`{"type":"start"}`)
		send(`{"type":"text-start","id":"t"}`)
		for i := range *events {
			time.Sleep(*gap)
			send(fmt.Sprintf(`{"type":"text-delta","id":"t","delta":"word%d "}`, i))
		}
		send(`{"type":"text-end","id":"t"}`)
		send(`{"type":"finish"}`)
		send(`[DONE]`)
	})
	fmt.Fprintln(os.Stderr, (&http.Server{Addr: *addr, Handler: mux}).ListenAndServe())
	os.Exit(1)
}
