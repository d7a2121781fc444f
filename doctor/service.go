package doctor

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
)

// key checks the guard's key at its service (or relay), the site's key
// against it, and the clock against the service's Date header.
func (r *run) key(ctx context.Context, g Guard) {
	if key := r.d.SiteEnv["OUTSTATIC_API_KEY"]; r.d.SiteEnv != nil && g.APIKey != "" && key != g.APIKey {
		r.finding("key", "site .env", "the site's OUTSTATIC_API_KEY is not the guard's api_key",
			"give the guard and the site the same key")
	}
	if g.APIKey == "" {
		return
	}
	svc := serviceOf(g)
	res, err := r.do(ctx, "GET", svc+protocol.Project.Path, map[string]string{"Authorization": "Bearer " + g.APIKey, "Accept": "application/json"})
	if err != nil {
		r.finding("key", svc, "the key check failed: "+err.Error(), "make the service reachable from Caddy (service in the outstatic block)")
		return
	}
	switch {
	case res.StatusCode == http.StatusOK:
		r.ok("key", svc, "accepted")
	case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
		r.finding("key", svc, fmt.Sprintf("refused (status %d)", res.StatusCode),
			"use the key the service issued, or for a native relay one made with caddy outstatic key create (or declared with key_sha256)")
	default:
		r.finding("key", svc, fmt.Sprintf("the key check answered status %d", res.StatusCode),
			"point service at the service's or relay's base URL (its /outstatic/project answers the key check)")
	}
	r.skew(svc, res)
}

// skew compares the clock with the Date header of the service's answer.
func (r *run) skew(svc string, res *http.Response) {
	date, err := http.ParseTime(res.Header.Get("Date"))
	if err != nil {
		return
	}
	d := r.d.Now().Sub(date)
	if d < 0 {
		d = -d
	}
	if d > r.d.MaxSkew {
		r.finding("clock", svc, fmt.Sprintf("this machine's clock is %s off the service's", d.Round(time.Second)),
			"synchronise the clock (NTP: systemd-timesyncd or chrony)")
		return
	}
	r.ok("clock", svc, "within "+r.d.MaxSkew.String()+" of the service's")
}

// storage checks that Caddy's storage folder takes a file.
func (r *run) storage() {
	dir := r.d.StorageDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		r.finding("storage", dir, "cannot be created: "+err.Error(), "give the user Caddy runs as write access to it, or set storage file_system <dir>")
		return
	}
	f, err := os.CreateTemp(dir, ".outstatic-doctor-*")
	if err != nil {
		r.finding("storage", dir, "not writable: "+err.Error(), "give the user Caddy runs as write access to it, or set storage file_system <dir>")
		return
	}
	name := f.Name()
	f.Close()
	_ = os.Remove(filepath.Clean(name))
	r.ok("storage", dir, "writable")
}
