// Command upstream is the app behind every proxy in bench/proxies.sh: a
// small fixed page, so that the proxies' own cost is what differs. /echo
// answers the request's headers, for the script to check what each proxy
// passed on before measuring.
package main

import (
	"flag"
	"log"
	"net/http"
)

var page = []byte("<!doctype html><title>bench</title><p>hello from the upstream</p>\n")

func main() {
	addr := flag.String("addr", "127.0.0.1:9101", "listen address")
	flag.Parse()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/echo" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_ = r.Header.Write(w)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	log.Fatal(http.ListenAndServe(*addr, h))
}
