package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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

// learn gives a guard that has a key and no callback_origin the callback
// origins its service's key check answers, as the guard itself takes them
// (docs/protocol-extensions.md), and reports where they came from.
func (r *run) learn(ctx context.Context, g *Guard) {
	if len(g.CallbackOrigins) > 0 || g.APIKey == "" {
		return
	}
	svc := serviceOf(*g)
	subject := "(from " + svc + ")"
	origins, sent, err := r.keyCheckOrigins(ctx, svc, g.APIKey)
	switch {
	case err != nil:
		r.finding("callback origin", subject, "the guard in server "+g.Server+" has no callback_origin, and its service's key check could not be read: "+err.Error(),
			"make the relay reachable from Caddy, or add callback_origin https://<your site>/outstatic")
	case !sent:
		r.finding("callback origin", subject, "the guard in server "+g.Server+" has no callback_origin, and its service answers none (outstatic.com does not)",
			"add callback_origin https://<your site>/outstatic, or set service to a native relay")
	case len(origins) == 0:
		r.finding("callback origin", subject, "the relay answers no callback origins for the project",
			"add one on the relay's API Keys page or with caddy outstatic origin add")
	default:
		r.ok("callback origin", subject, "the guard in server "+g.Server+" takes the relay's: "+strings.Join(origins, ", "))
		g.CallbackOrigins = origins
	}
}

// keyCheckOrigins reads the callback_origins of the key check's answer;
// sent is false when the answer has none.
func (r *run) keyCheckOrigins(ctx context.Context, svc, key string) (origins []string, sent bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, svc+protocol.Project.Path, nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "caddy-outstatic doctor")
	res, err := r.d.Client.Do(req)
	if err != nil {
		return nil, false, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, false, fmt.Errorf("status %d", res.StatusCode)
	}
	var body struct {
		CallbackOrigins *[]string `json:"callback_origins"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&body); err != nil {
		return nil, false, fmt.Errorf("the answer is not the key check's JSON: %v", err)
	}
	if body.CallbackOrigins == nil {
		return nil, false, nil
	}
	return *body.CallbackOrigins, true, nil
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
