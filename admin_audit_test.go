package outstatic

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
)

// TestAdminAuditReadsTheProjectsRelay runs two native relays in one Caddy,
// each on a store of its own (Caddy's storage and a real Redis), and makes
// a key for each one's project: the admin API's audit log of a project
// answers from the store of the relay that serves it, whichever relay is
// the newest, and holds none of the other project's records.
func TestAdminAuditReadsTheProjectsRelay(t *testing.T) {
	srv := testredis.Start(t)
	t.Setenv("TEST_GH_SECRET", "relay-secret")
	t.Setenv("TEST_RELAY_SECRET", strings.Repeat("x", 40))
	relay := func(host, slug, storage string) string {
		return fmt.Sprintf(`
	http://%[1]s.localhost:9080 {
		outstatic_relay {
			public_url http://%[1]s.localhost:9080
			github {
				client_id relay-client
				client_secret {env.TEST_GH_SECRET}
			}
			project %[2]s {
				callback_origin http://%[2]s.localhost:9080/outstatic
				repo acme/%[2]s
				member ada owner
			}
			%[3]s
			secret {env.TEST_RELAY_SECRET}
		}
	}`, host, slug, storage)
	}
	tester := newTester(t)
	tester.InitServer(ports(fmt.Sprintf(`
	{
		admin localhost:2999
		http_port 9080
		https_port 9443
		grace_period 1ns
		skip_install_trust
		storage file_system %s
	}`, caddyStorage(t, "outstatic-admin-audit-"))+
		relay("relay", "blog", "")+relay("relay2", "docs", "storage redis "+srv.Addr)), "caddyfile")

	prefixes := map[string]string{}
	for _, slug := range []string{"blog", "docs"} {
		status, body := adminRequest(t, "POST", "/outstatic/keys/"+slug+"/create", "")
		var reply struct{ Prefix string }
		if status != http.StatusOK || json.Unmarshal([]byte(body), &reply) != nil || reply.Prefix == "" {
			t.Fatalf("creating a key for %s: %d %s", slug, status, body)
		}
		prefixes[slug] = reply.Prefix
	}
	for slug, prefix := range prefixes {
		status, body := adminRequest(t, "GET", "/outstatic/audit?kind="+string(audit.KeyCreated)+"&project="+slug, "")
		var page audit.Page
		if status != http.StatusOK || json.Unmarshal([]byte(body), &page) != nil {
			t.Fatalf("GET /outstatic/audit?project=%s: %d %s", slug, status, body)
		}
		if len(page.Events) != 1 || page.Events[0].Project != slug || page.Events[0].KeyPrefix != prefix {
			t.Errorf("the audit log of %s: %+v, want its one key-created record (key %s)", slug, page.Events, prefix)
		}
	}
}
