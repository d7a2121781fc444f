package doctor

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// only runs Check and returns the findings of check.
func only(t *testing.T, d Deployment, check string) []Finding {
	t.Helper()
	var out []Finding
	for _, f := range Check(context.Background(), d) {
		if f.Check == check {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s finding", check)
	}
	return out
}

func wantFinding(t *testing.T, fs []Finding, detail, fix string) {
	t.Helper()
	for _, f := range fs {
		if !f.OK && strings.Contains(f.Detail, detail) && strings.Contains(f.Fix, fix) {
			return
		}
	}
	t.Errorf("no finding %q (fix %q) in %v", detail, fix, fs)
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestOriginFindings: a malformed origin and one nobody answers.
func TestOriginFindings(t *testing.T) {
	fs := only(t, Deployment{Guards: []Guard{{Server: "srv0", CallbackOrigins: []string{
		"https://blog.example.com/admin", "http://" + closedAddr(t) + "/outstatic"}}}}, "callback origin")
	wantFinding(t, fs, "/outstatic", "write it as https://<your site>")
	wantFinding(t, fs, "unreachable", "point 127.0.0.1 at this Caddy")
	fs = only(t, Deployment{Guards: []Guard{{Server: "srv0"}}}, "callback origin")
	wantFinding(t, fs, "has no callback_origin", "add callback_origin")
}

// TestLearnedOriginFindings: a guard with a key and no callback_origin
// is checked with the origins its relay's key check answers; one whose
// service answers none, or an empty list, is a finding.
func TestLearnedOriginFindings(t *testing.T) {
	body := ""
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer ost_k" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	defer svc.Close()
	guards := []Guard{{Server: "srv0", APIKey: "ost_k", Service: svc.URL}}

	body = `{"project_id":"blog","callback_origins":["http://` + closedAddr(t) + `/outstatic"],"plan":"pro"}`
	fs := only(t, Deployment{Guards: guards}, "callback origin")
	if !fs[0].OK || !strings.Contains(fs[0].Detail, "takes the relay's: http://127.0.0.1:") {
		t.Errorf("learned: %v", fs)
	}
	// the learned origin is checked as a written one is
	wantFinding(t, fs, "unreachable", "point 127.0.0.1 at this Caddy")
	if guards[0].CallbackOrigins != nil {
		t.Error("Check changed the caller's guards")
	}

	body = `{"project_id":"blog"}`
	wantFinding(t, only(t, Deployment{Guards: guards}, "callback origin"), "its service answers none", "add callback_origin")
	body = `{"project_id":"blog","callback_origins":[]}`
	wantFinding(t, only(t, Deployment{Guards: guards}, "callback origin"), "answers no callback origins", "API Keys page")
	guards[0].APIKey = "ost_other"
	wantFinding(t, only(t, Deployment{Guards: guards}, "callback origin"), "could not be read: status 401", "add callback_origin")
}

// TestAPIURLFindings: unset, a trailing slash, and a private address for
// a public site.
func TestAPIURLFindings(t *testing.T) {
	public := []Guard{{CallbackOrigins: []string{"https://blog.example.com/outstatic"}}}
	wantFinding(t, only(t, Deployment{SiteEnv: map[string]string{}}, "OUTSTATIC_API_URL"),
		"the site calls https://outstatic.com/api", "set OUTSTATIC_API_URL")
	for _, private := range []string{"http://127.0.0.1:8080/relay", "http://10.1.2.3/relay", "http://relay:8080", "http://localhost/relay"} {
		wantFinding(t, only(t, Deployment{Guards: public, SiteEnv: map[string]string{"OUTSTATIC_API_URL": private}}, "OUTSTATIC_API_URL"),
			"is a private or loopback address", "serve the relay on a public URL")
	}
	svc := httptest.NewServer(http.NotFoundHandler())
	defer svc.Close()
	fs := Check(context.Background(), Deployment{SiteEnv: map[string]string{"OUTSTATIC_API_URL": svc.URL + "/"}})
	wantFinding(t, fs, "ends with /", "remove the trailing /")
}

// TestCORSFinding: a relay that answers the preflight without the site's
// origin.
func TestCORSFinding(t *testing.T) {
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "https://other.example.com")
		w.WriteHeader(http.StatusNoContent)
	}))
	defer relay.Close()
	fs := only(t, Deployment{Guards: []Guard{{CallbackOrigins: []string{"http://site.localhost/outstatic"}}},
		SiteEnv: map[string]string{"OUTSTATIC_API_URL": relay.URL}}, "CORS")
	wantFinding(t, fs, `allow-origin "https://other.example.com"`, "list http://site.localhost/outstatic as a callback_origin")
}

// TestClockSkew: the service's Date is two minutes off this clock.
func TestClockSkew(t *testing.T) {
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(-2*time.Minute).UTC().Format(http.TimeFormat))
		w.Write([]byte(`{}`))
	}))
	defer svc.Close()
	d := Deployment{Guards: []Guard{{APIKey: "ost_x", Service: svc.URL}}}
	fs := only(t, d, "clock")
	wantFinding(t, fs, "this machine's clock is 2m", "synchronise the clock")
	d.Now = func() time.Time { return time.Now().Add(-2 * time.Minute) }
	if fs := only(t, d, "clock"); !fs[0].OK {
		t.Errorf("a clock in step: %v", fs)
	}
}

// TestListenAddressDefault: without app_origin, a site on port 3000 is
// covered (the default), one on 3001 is not.
func TestListenAddressDefault(t *testing.T) {
	fs := only(t, Deployment{Guards: []Guard{{Upstreams: []string{"127.0.0.1:3000", "10.0.0.5:3001"}}}}, "app origin")
	if !fs[0].OK {
		t.Errorf("port 3000 without app_origin: %v", fs[0])
	}
	wantFinding(t, fs, "names itself http://localhost:3001", "add app_origin http://localhost:3001")
}

// TestStorageNotWritable: the storage folder is under a file.
func TestStorageNotWritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wantFinding(t, only(t, Deployment{StorageDir: filepath.Join(file, "caddy")}, "storage"), "cannot be created", "write access")
	if fs := only(t, Deployment{StorageDir: t.TempDir()}, "storage"); !fs[0].OK {
		t.Errorf("a writable folder: %v", fs)
	}
}

// TestRedis: a real Redis answers, reported as one server whose role is
// master, without TLS; a closed port does not answer.
func TestRedis(t *testing.T) {
	srv := testredis.Start(t)
	fs := only(t, Deployment{Redis: []Redis{
		{Where: "relay storage", Config: store.RedisConfig{Addresses: []string{srv.Addr}}},
		{Where: "guard token_store", Config: store.RedisConfig{Address: closedAddr(t)}},
		{Where: "relay token_store", Config: store.RedisConfig{Addresses: []string{srv.Addr, srv.Addr}}},
	}}, "redis")
	if !fs[0].OK || fs[0].Detail != "answers: one server, role master, no TLS" {
		t.Errorf("a running Redis: %v", fs[0])
	}
	wantFinding(t, fs[1:2], "does not answer", "fix the addresses, username and password of guard token_store")
	wantFinding(t, fs[2:], "add sentinel <master>", "correct the redis block of relay token_store")
}

// TestRedisForms: the doctor names the form it reached, the node's role
// and the TLS state: a managed-style server (TLS with a CA of its own, an
// ACL user), the same with the wrong CA (a finding that names the
// certificate), a Sentinel master, its replica addressed as one server (a
// finding: it refuses writes), and a Cluster.
func TestRedisForms(t *testing.T) {
	ca := testredis.NewCA(t, "doctor CA")
	other := testredis.NewCA(t, "other CA")
	managed := testredis.Start(t, testredis.WithTLS(ca.Issue(t, "127.0.0.1")), testredis.WithACL("relay", "pw-doctor"))
	g := testredis.StartSentinel(t)
	cl := testredis.StartCluster(t, 3, 0)
	expand := strings.NewReplacer("{env.REDIS_PASSWORD}", "pw-doctor").Replace
	tlsConfig := func(caFile string) store.RedisConfig {
		return store.RedisConfig{Addresses: []string{managed.Addr}, Username: "relay", Password: "{env.REDIS_PASSWORD}",
			TLS: &store.RedisTLS{CAFile: caFile}}
	}
	fs := only(t, Deployment{Redis: []Redis{
		{Where: "managed", Config: tlsConfig(ca.File), Expand: expand},
		{Where: "wrong CA", Config: tlsConfig(other.File), Expand: expand},
		{Where: "sentinel", Config: store.RedisConfig{Addresses: g.SentinelAddrs(), Sentinel: &store.RedisSentinel{Master: g.MasterName}}},
		{Where: "replica", Config: store.RedisConfig{Addresses: []string{g.Replica.Addr}}},
		{Where: "cluster", Config: store.RedisConfig{Addresses: cl.Addrs()[:1], Cluster: true}},
	}}, "redis")
	for i, want := range []string{
		"answers: one server, role master, TLS, the certificate verified against " + ca.File,
		"",
		"answers: Sentinel, master " + g.MasterName + " at " + g.Master.Addr + ", role master, no TLS",
		"",
		"answers: Cluster of 3 masters (state ok), role master, no TLS",
	} {
		if want != "" && (!fs[i].OK || fs[i].Detail != want) {
			t.Errorf("finding %d = %v, want ok %q", i, fs[i], want)
		}
	}
	wantFinding(t, fs[1:2], "TLS certificate is refused", "give tls ca_file the CA")
	wantFinding(t, fs[3:4], "one server, role replica", "point replica at the master")
	for _, f := range fs {
		if strings.Contains(f.String(), "pw-doctor") {
			t.Errorf("a finding shows the password: %v", f)
		}
	}
}

// TestParseEnv reads the forms a .env file has.
func TestParseEnv(t *testing.T) {
	env := ParseEnv("# c\n\nA=1\nexport B=\"two words\"\nC='3'\r\nbroken\nD = 4\n")
	for k, v := range map[string]string{"A": "1", "B": "two words", "C": "3", "D": "4"} {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["broken"]; ok {
		t.Error("a line without = became a variable")
	}
}
