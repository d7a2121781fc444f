package cluster

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// TestClusterRedisWrongCertificate: a relay (its secret given, so loading
// it reads nothing from the store) whose Redis presents a certificate of
// another CA fails closed: the key check answers 503 service-unavailable,
// and Caddy's log says it is the certificate. With the right CA it works.
func TestClusterRedisWrongCertificate(t *testing.T) {
	ca := testredis.NewCA(t, "cluster CA")
	other := testredis.NewCA(t, "another CA")
	srv := testredis.Start(t, testredis.WithTLS(ca.Issue(t, "redis.internal")))
	storage := func(caFile string) storeKind {
		return storeKind{relayLine: "storage redis " + srv.Addr + " {\n\t\t\ttls {\n\t\t\t\tca_file " + caFile +
			"\n\t\t\t\tserver_name redis.internal\n\t\t\t}\n\t\t}"}
	}
	wrong := startCluster(t, 1, storage(other.File)).Nodes[0]
	unknown, _, _, err := relay.NewKey() // well formed, so it is looked up
	if err != nil {
		t.Fatal(err)
	}
	r := wrong.do(t, http.MethodGet, "/outstatic/project", unknown, nil)
	if r.Status != http.StatusServiceUnavailable || r.JSON()["error"] != "service-unavailable" {
		t.Errorf("the key check with the wrong CA: %d %s; want 503 service-unavailable", r.Status, r.Body)
	}
	const want = "the Redis server's TLS certificate is refused (set tls ca_file to the CA that signed it)"
	deadline := time.Now().Add(10 * time.Second)
	for {
		log, _ := os.ReadFile(wrong.LogPath)
		if strings.Contains(string(log), want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Caddy's log does not say %q:\n%s", want, log)
		}
		time.Sleep(50 * time.Millisecond)
	}

	right := startCluster(t, 1, storage(ca.File)).Nodes[0]
	key := right.adminKey(t, "create")
	if r := right.do(t, http.MethodGet, "/outstatic/project", key, nil); r.Status != http.StatusOK {
		t.Fatalf("the key check with the right CA: %d %s", r.Status, r.Body)
	}
}
