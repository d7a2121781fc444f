// Command caddy is Caddy with its standard modules and caddy-outstatic, so
// that `go run ./cmd/caddy run --config ...` works without xcaddy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// the standard modules and this plugin
	_ "github.com/caddy-outstatic/caddy-outstatic"
	// the demo's stand-in site (examples/Caddyfile); not part of the plugin
	_ "github.com/caddy-outstatic/caddy-outstatic/internal/demosite"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
