package outstatic

import (
	"fmt"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// TestSecondCaddyOnTheSameAddressesWarns runs the built Caddy twice with
// one config: the same admin address and the same site address. Caddy's
// SO_REUSEPORT lets the second start without an error; it warns, for the
// admin address and for the site's, that another process (the first, by
// its pid) listens there too. The first, alone on them until then, has
// said nothing of the kind.
func TestSecondCaddyOnTheSameAddressesWarns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs caddy")
	}
	bin := caddyBinary(t)
	sitePort, admin := freeLoopbackPort(), freeLoopbackPort()
	cfg := fmt.Sprintf(`{
	admin 127.0.0.1:%d
	default_bind 127.0.0.1
	auto_https off
	persist_config off
	grace_period 1s
}
http://:%d {
	outstatic {
		callback_origin http://localhost:%[2]d/outstatic
	}
	respond "site"
}
`, admin, sitePort)
	siteURL := fmt.Sprintf("http://127.0.0.1:%d/", sitePort)
	first := runCaddyfile(t, bin, "first", cfg)
	first.WaitHTTP(t, siteURL, testwait.Bound, nil, nil)
	const warning = "another process listens on this Caddy's address"
	if strings.Contains(first.Output(), warning) {
		t.Fatalf("the first Caddy, alone on its addresses, warned:\n%s", first.Tail(2000))
	}
	second := runCaddyfile(t, bin, "second", cfg)

	for _, addr := range []string{fmt.Sprintf("127.0.0.1:%d", admin), fmt.Sprintf("127.0.0.1:%d", sitePort)} {
		want := fmt.Sprintf(`"address":%q,"other_pid":%d`, addr, first.Pid())
		testwait.Until(t, "the second Caddy warns that the first listens on "+addr, func() bool {
			return strings.Contains(second.Output(), want)
		})
	}
	if n := strings.Count(second.Output(), warning); n != 2 {
		t.Errorf("the second Caddy warned %d times, want once per address", n)
	}
	if !strings.Contains(second.Output(), "stop the other Caddy, or give this one another admin address") {
		t.Error("the warning does not say what to do")
	}
	if second.Exited() {
		t.Error("the second Caddy did not start (the warning must not stop it)")
	}
}
