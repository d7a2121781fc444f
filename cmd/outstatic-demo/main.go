// Command outstatic-demo is the full demo that bash scripts/demo.sh
// builds and runs: the stock Outstatic site behind the guard and a native
// relay, with a demo GitHub holding a sample repository in memory
// (package internal/demo). Ctrl-C (SIGINT) or SIGTERM stops everything it
// started. Run it through the script, which builds the site it needs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/caddy-outstatic/caddy-outstatic/internal/demo"
)

func main() {
	port := flag.Int("port", 8080, "the public port on localhost")
	site := flag.String("site", ".demo/site", "the stock site, built by scripts/demo.sh for this port")
	dir := flag.String("dir", "", "the folder for this run's logs and storage (default: beside -site, run/)")
	flag.Parse()
	if *dir == "" {
		*dir = filepath.Join(filepath.Dir(*site), "run")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	d, err := demo.Start(ctx, demo.Options{Port: *port, SiteDir: *site, Dir: *dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	err = d.Wait(ctx)
	d.Stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
