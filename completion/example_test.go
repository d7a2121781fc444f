package completion_test

import (
	"log"
	"net/http"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/completion"
)

// The relay's generate route: authenticate the site's key, spend one of the
// project's requests, then stream.
func Example() {
	ai, err := completion.New(completion.Config{
		BaseURL: "https://api.openai.com/v1",
		APIKey:  "sk-...", // from the operator's configuration, never logged
		Model:   "gpt-4o-mini",
	})
	if err != nil {
		log.Fatal(err)
	}
	r, _ := completion.ParseRate("30/1m")
	limits, _ := completion.NewLimiter(r, 0, nil)
	projectOf := func(*http.Request) (string, bool) { return "project-id", true } // the relay's key check

	http.HandleFunc("POST /outstatic/generate", func(w http.ResponseWriter, req *http.Request) {
		project, ok := projectOf(req)
		if !ok {
			http.Error(w, `{"error":"invalid-api-key"}`, http.StatusUnauthorized)
			return
		}
		if !limits.Allow(project) {
			completion.RefuseRateLimited(w)
			return
		}
		ai.ServeHTTP(w, req)
	})
	_ = &http.Server{ReadHeaderTimeout: 10 * time.Second}
}
