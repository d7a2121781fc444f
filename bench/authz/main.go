// Command authz is the least a forward_auth endpoint can do, for
// bench/proxies.sh: it answers 200 with the three flag headers for Caddy's
// forward_auth to copy onto the request (a session check that costs nothing).
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9102", "listen address")
	flag.Parse()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Outstatic-Pro", "true")
		w.Header().Set("X-Outstatic-Features", "ai-completions,email-login,social-login,github-relay,callback-origins,members")
		w.Header().Set("X-Outstatic-Project", "proj_bench")
		w.WriteHeader(http.StatusOK)
	})
	log.Fatal(http.ListenAndServe(*addr, h))
}
