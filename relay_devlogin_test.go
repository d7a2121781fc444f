package outstatic

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestDevLoginListenerForms: every form of listener address Caddy takes,
// judged as Caddy will listen on it.
func TestDevLoginListenerForms(t *testing.T) {
	t.Setenv("DEV_HOST_LOOPBACK", "127.0.0.1")
	t.Setenv("DEV_HOST_ALL", "0.0.0.0")
	loopback := func(context.Context, string) ([]net.IPAddr, error) {
		return []net.IPAddr{{IP: net.ParseIP("127.0.0.1")}, {IP: net.ParseIP("::1")}}, nil
	}
	public := func(context.Context, string) ([]net.IPAddr, error) {
		return []net.IPAddr{{IP: net.ParseIP("127.0.0.1")}, {IP: net.ParseIP("192.0.2.7")}}, nil
	}
	broken := func(context.Context, string) ([]net.IPAddr, error) { return nil, errors.New("no resolver") }
	for _, c := range []struct {
		ln     string
		lookup func(context.Context, string) ([]net.IPAddr, error)
		want   string // "" for accepted, else a part of the error
	}{
		{"127.0.0.1:8080", loopback, ""},
		{"127.0.0.2:8080", loopback, ""},
		{"[::1]:8080", loopback, ""},
		{"::1", loopback, ""},
		{"[::ffff:127.0.0.1]:8080", loopback, ""},
		{"127.0.0.1:8080-8090", loopback, ""},
		{"tcp/127.0.0.1:8080", loopback, ""},
		{"tcp4/127.0.0.1:8080", loopback, ""},
		{"tcp6/[::1]:8080", loopback, ""},
		{"udp/127.0.0.1:8443", loopback, ""},
		{"udp6/[::1]:8443", loopback, ""},
		{"localhost:8080", loopback, ""},
		{"LocalHost:8080", loopback, ""},
		{"{env.DEV_HOST_LOOPBACK}:8080", loopback, ""},
		{":8080", loopback, "not a loopback address"},
		{"0.0.0.0:8080", loopback, "not a loopback address"},
		{"[::]:8080", loopback, "not a loopback address"},
		{"192.0.2.1:8080", loopback, "not a loopback address"},
		{"tcp4/192.0.2.1:8080", loopback, "not a loopback address"},
		{"udp/0.0.0.0:8443", loopback, "not a loopback address"},
		{"example.com:8080", loopback, "not a loopback address"},
		{"relay.localhost:8080", loopback, "not a loopback address"},
		{"localho\u017Ft:8080", loopback, "not a loopback address"}, // long s, which EqualFold takes for "s"
		{"localhost:8080", public, "localhost resolves to 192.0.2.7"},
		{"localhost:8080", broken, "does not resolve"},
		{"{env.DEV_HOST_ALL}:8080", loopback, "not a loopback address"},
		{"{env.DEV_HOST_UNSET}:8080", loopback, "is empty"},
		{"unix//run/caddy/dev.sock", loopback, "unix socket unix//run/caddy/dev.sock"},
		{"unix//run/caddy/dev.sock|0222", loopback, "unix socket"},
		{"unix/@abstract", loopback, "unix socket"},
		{"unixgram//run/caddy/dev.sock", loopback, "unix socket"},
		{"unixpacket//run/caddy/dev.sock", loopback, "unix socket"},
		{"UNIX//run/caddy/dev.sock", loopback, "unix socket"},
		{"fd/3", loopback, "file descriptor fd/3"},
		{"fdgram/3", loopback, "file descriptor fdgram/3"},
		{"ip4:tcp/127.0.0.1:8080", loopback, "network"},
		{"tailscale/127.0.0.1:8080", loopback, "a tailscale network"},
		{"127.0.0.1:http", loopback, "listener"},
	} {
		err := checkDevLoginListener(c.ln, c.lookup)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.ln, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v; want an error with %q", c.ln, err, c.want)
		}
	}
}

// TestDevLoginListenersInCaddy: Caddy refuses to start dev_login on a
// unix socket, a file descriptor or all interfaces, whether the listener
// comes from the Caddyfile's bind, its default_bind, or JSON; it starts
// it on loopback.
func TestDevLoginListenersInCaddy(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "dev.sock")
	t.Setenv("DEV_HOST", "127.0.0.1")
	caddyfileOf := func(bind string, global ...string) []byte {
		cfg := demoConfig(t, t.TempDir())
		cfg = strings.Replace(cfg, "admin localhost:"+strings.TrimPrefix(ports("localhost:2999"), "localhost:"), "admin off\n"+strings.Join(global, "\n"), 1)
		cfg = strings.Replace(cfg, "\tbind 127.0.0.1\n", bind, 1)
		adapted, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
		if err != nil {
			t.Fatal(err)
		}
		return adapted
	}
	jsonOf := func(listen string) []byte {
		adapted := caddyfileOf("\tbind 127.0.0.1\n")
		return []byte(strings.Replace(string(adapted), `"listen":["127.0.0.1`+ports(":9080")+`"]`, `"listen":["`+listen+`"]`, 1))
	}
	for _, c := range []struct {
		name   string
		config []byte
		want   string // "" to start
	}{
		{"bind unix", caddyfileOf("\tbind unix/" + sock + "\n"), "server srv0 listens on the unix socket unix/" + sock},
		{"bind fd", caddyfileOf("\tbind fd/3\n"), "server srv0 listens on the file descriptor fd/3"},
		{"bind all", caddyfileOf("\tbind 0.0.0.0\n"), "listens on 0.0.0.0" + ports(":9080") + ", which is not a loopback address"},
		{"bind two, one public", caddyfileOf("\tbind 127.0.0.1 192.0.2.1\n"), "listens on 192.0.2.1" + ports(":9080")},
		{"no bind", caddyfileOf(""), "listens on " + ports(":9080") + ", which is not a loopback address"},
		{"default_bind", caddyfileOf("", "default_bind 0.0.0.0"), "listens on 0.0.0.0" + ports(":9080")},
		{"default_bind unix", caddyfileOf("", "default_bind unix/"+sock), "unix socket unix/" + sock},
		{"default_bind loopback", caddyfileOf("", "default_bind 127.0.0.1"), ""},
		{"JSON unixgram", jsonOf("unixgram/" + sock), "unix socket unixgram/" + sock},
		{"JSON fdgram", jsonOf("fdgram/4"), "file descriptor fdgram/4"},
		{"JSON placeholder", jsonOf("{env.DEV_HOST_UNSET}" + ports(":9080")), "is empty"},
		{"bind localhost", caddyfileOf("\tbind localhost\n"), ""},
		{"bind ::1", caddyfileOf("\tbind ::1\n"), ""},
		{"JSON placeholder on loopback", jsonOf("{env.DEV_HOST}" + ports(":9080")), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := caddy.Load(c.config, true)
			if err == nil {
				_ = caddy.Stop()
			}
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && err == nil:
				t.Fatal("Caddy started dev_login")
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("error %q\nwant it to contain %q", err, c.want)
			}
		})
	}
}
