package outstatic

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
)

// TestUnreachableRelaySaysSo: a guard whose relay (its service) listens
// nowhere. The sign-in button's fetch gets the protocol's
// 500 {"error":"github-relay-failed"}, which the stock sign-in page knows,
// and Caddy's log says at error that it is the relay that could not be
// reached, with the URL it called and the dial error.
func TestUnreachableRelaySaysSo(t *testing.T) {
	// a loopback port that was free a moment ago and has no listener now
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	t.Setenv("OUTSTATIC_TEST_KEY", "ost_unreachable-relay-test-key")
	newTester(t).InitServer(ports(fmt.Sprintf(`
	{
		admin localhost:2999
		http_port 9080
		https_port 9443
		grace_period 1ns
		skip_install_trust
		log {
			output file %[1]s
			format json
			level INFO
		}
	}
	http://blog.localhost:9080 {
		outstatic {
			callback_origin http://blog.localhost:9080/outstatic
			api_key {env.OUTSTATIC_TEST_KEY}
			service %[2]s
		}
		respond "site"
	}
	`, logFile, down)), "caddyfile")

	req, _ := http.NewRequest("GET", ports("http://blog.localhost:9080/api/outstatic/login"), nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	res, err := (&http.Client{Transport: caddytest.CreateTestingTransport()}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusInternalServerError || strings.TrimSpace(string(body)) != `{"error":"github-relay-failed"}` {
		t.Errorf("login behind an unreachable relay: %d %s", res.StatusCode, body)
	}
	lines := logEntries(t, logFile, "relay start failed: the relay could not be reached")
	if len(lines) != 1 {
		t.Fatalf("want one log line saying the relay could not be reached, got %v", lines)
	}
	for field, want := range map[string]string{
		"level":     "error",
		"relay_url": down + protocol.GitHubExchange.Path,
		"error":     "connection refused",
		"fix":       "check that the relay at " + down,
	} {
		if got, _ := lines[0][field].(string); !strings.Contains(got, want) {
			t.Errorf("log field %s = %q, want it to contain %q", field, got, want)
		}
	}
}
