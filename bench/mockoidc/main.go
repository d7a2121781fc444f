// Command mockoidc is an OpenID Connect issuer for bench/proxies.sh: it
// logs in anyone (a fixed user) at once, so oauth2-proxy can be given a
// session cookie without a browser. Loopback only; for benchmarks, never
// for anything else.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/oauth2-proxy/mockoidc"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		log.Fatal(err)
	}
	c := m.Config()
	// what proxies.sh reads: the issuer and the client's credentials
	fmt.Printf("issuer=%s\nclient_id=%s\nclient_secret=%s\n", m.Issuer(), c.ClientID, c.ClientSecret)
	os.Stdout.Sync()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	_ = m.Shutdown()
}
