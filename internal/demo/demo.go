// Package demo is the full demo of bash scripts/demo.sh: the stock
// Outstatic site behind the guard and a native relay, in one Caddy run in
// this process, with a demo GitHub (the project's fake GitHub,
// internal/fakegithub) serving a sample repository from memory and
// signing its one user in at once. Everything listens on loopback;
// nothing leaves the machine. It is used by cmd/outstatic-demo only, which
// also registers the demo's banner (banner.go) with Caddy: none of it is
// part of the plugin.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile" // the caddyfile adapter
	_ "github.com/caddyserver/caddy/v2/modules/standard"      // reverse_proxy, handle, respond...

	_ "github.com/caddy-outstatic/caddy-outstatic" // the guard and the relay

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
)

// Options configure a run.
type Options struct {
	// Port is the public port on localhost; default 8080.
	Port int
	// SiteDir holds the stock site, built by scripts/demo.sh for Port.
	SiteDir string
	// Dir is the folder for this run's logs and Caddy's storage (its
	// storage/ folder is removed at the start).
	Dir string
	// Out gets the demo's progress lines; default os.Stdout.
	Out io.Writer
	// NoSite runs everything but the stock site (for tests of the rest).
	NoSite bool
}

// Running is a started demo. Stop ends it.
type Running struct {
	Layout  Layout
	Secrets Secrets
	// GitHub is the demo GitHub, holding the sample repository.
	GitHub *fakegithub.Server
	// SitePID is the stock site's process (and process group) id; 0
	// with NoSite.
	SitePID int

	site    *site
	out     io.Writer
	stopped chan struct{}
}

// Start starts the demo GitHub, Caddy and the stock site, in that order,
// and returns once the site answers. Whatever fails on the way, or ctx
// ending first (Ctrl-C), stops what was started.
func Start(ctx context.Context, opts Options) (_ *Running, err error) {
	if opts.Port == 0 {
		opts.Port = 8080
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.SiteDir, err = filepath.Abs(opts.SiteDir); err != nil {
		return nil, err
	}
	r := &Running{out: opts.Out, stopped: make(chan struct{})}
	if r.Secrets, err = NewSecrets(); err != nil {
		return nil, err
	}
	r.Layout = Layout{Port: opts.Port, Storage: filepath.Join(opts.Dir, "storage"), Log: filepath.Join(opts.Dir, "caddy.log")}
	if !opts.NoSite {
		if err := checkBuilt(opts.SiteDir, r.Layout.RelayURL()); err != nil {
			return nil, err
		}
	}
	if err := checkPortFree(opts.Port); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	// this run's storage and log only: the secrets are new, what an
	// earlier run stored is of no use
	if err := os.RemoveAll(r.Layout.Storage); err != nil {
		return nil, err
	}
	if err := os.Remove(r.Layout.Log); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if r.Layout.SitePort, err = freePort(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			r.Stop()
		}
	}()

	r.GitHub = fakegithub.New(ClientID, r.Secrets.GitHubSecret, User(r.Layout.Origin()))
	r.GitHub.Repo = SampleRepo()
	// as registered with GitHub: the relay's one callback
	r.GitHub.CallbackURL = r.Layout.RelayURL() + "/outstatic/auth/github/callback"
	r.Layout.GitHub = r.GitHub.Start()
	r.say("demo GitHub on %s: a stand-in for GitHub, holding the demo repository %s/%s in memory; it signs %s in at once, with no password",
		r.Layout.GitHub, RepoOwner, RepoName, Login)

	for k, v := range r.Secrets.Env() {
		if err := os.Setenv(k, v); err != nil {
			return nil, err
		}
	}
	// written out for the curious: it holds no secret, only placeholders
	caddyfile := Caddyfile(r.Layout, r.Secrets.KeySHA256())
	caddyfilePath := filepath.Join(opts.Dir, "Caddyfile")
	if err := os.WriteFile(caddyfilePath, []byte(caddyfile), 0o644); err != nil {
		return nil, err
	}
	cfg, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), map[string]any{"filename": caddyfilePath})
	if err != nil {
		return nil, fmt.Errorf("adapting the demo's Caddyfile: %w", err)
	}
	for _, w := range warnings {
		r.say("caddyfile: %s", w.String())
	}
	if err := caddy.Load(cfg, true); err != nil {
		return nil, fmt.Errorf("starting Caddy: %w", err)
	}
	r.say("Caddy on %s: the guard, and the native relay at %s (its config: %s; its log: %s)",
		r.Layout.Origin(), r.Layout.RelayURL(), caddyfilePath, r.Layout.Log)
	// The site caches a failed key check for 30 minutes: it starts only
	// once the guard has the relay's Pro answer.
	if err := waitPro(ctx, r.Layout.Origin()+StatusPath, time.Minute); err != nil {
		return nil, err
	}
	go r.reportCommits()
	if opts.NoSite {
		return r, nil
	}

	r.site, err = startSite(opts.SiteDir, r.Layout.SitePort, r.siteEnv(), filepath.Join(opts.Dir, "site.log"))
	if err != nil {
		return nil, err
	}
	r.SitePID = r.site.pid()
	r.say("starting the stock site (outstatic 2.2.4): next start on 127.0.0.1:%d, pid %d (its log: %s)",
		r.Layout.SitePort, r.SitePID, r.site.log)
	if err := r.site.waitReady(ctx, r.Layout.SitePort, time.Minute); err != nil {
		return nil, err
	}
	r.say("ready: open %s/outstatic and click \"Sign in with GitHub\" (the Google and e-mail buttons need the relay's oidc or email block, which the demo has not)", r.Layout.Origin())
	r.say("this is a demo repository (%s/%s on the demo GitHub): saves and uploads are commits there, in memory; nothing leaves this machine. Ctrl-C stops the demo",
		RepoOwner, RepoName)
	return r, nil
}

// siteEnv is all the stock site is given: what a user of the relay sets.
func (r *Running) siteEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"NEXT_TELEMETRY_DISABLED=1",
		"OUTSTATIC_API_KEY=" + r.Secrets.APIKey,
		"OUTSTATIC_API_URL=" + r.Layout.RelayURL(),
		"OST_TOKEN_SECRET=" + r.Secrets.SiteSecret,
		"OST_REPO_OWNER=" + RepoOwner,
		"OST_REPO_SLUG=" + RepoName,
	}
}

// Wait returns when ctx is done (the demo's Ctrl-C) or the site exits
// on its own, which is an error.
func (r *Running) Wait(ctx context.Context) error {
	var siteDone <-chan struct{}
	if r.site != nil {
		siteDone = r.site.done
	}
	select {
	case <-ctx.Done():
		return nil
	case <-siteDone:
		return fmt.Errorf("the stock site exited (its log: %s):\n%s", r.site.log, tail(r.site.log, 2000))
	}
}

// Stop ends the site, Caddy and the demo GitHub. It is safe to call
// more than once.
func (r *Running) Stop() {
	select {
	case <-r.stopped:
		return
	default:
		close(r.stopped)
	}
	if r.site != nil {
		r.site.stop()
	}
	if err := caddy.Stop(); err != nil {
		r.say("stopping Caddy: %v", err)
	}
	if r.GitHub != nil {
		r.GitHub.Close()
	}
	for k := range r.Secrets.Env() {
		_ = os.Unsetenv(k)
	}
	r.say("stopped; the demo repository's changes are gone with it")
}

// reportCommits says in the demo's log each commit that lands in the demo
// repository's main branch.
func (r *Running) reportCommits() {
	last := r.GitHub.Head("main")
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.stopped:
			return
		case <-tick.C:
		}
		head := r.GitHub.Head("main")
		if head == last || head == "" {
			continue
		}
		last = head
		msg, _ := r.GitHub.HeadMessage("main")
		first, _, _ := strings.Cut(msg, "\n")
		r.say("demo repository %s/%s: commit %s on main: %s", RepoOwner, RepoName, head[:7], first)
	}
}

// say prints one progress line.
func (r *Running) say(format string, args ...any) {
	fmt.Fprintf(r.out, "demo: "+format+"\n", args...)
}

// waitPro polls the demo's status route until the guard holds a Pro
// verdict on the site's key.
func waitPro(ctx context.Context, url string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for {
		res, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(res.Body, 100))
			res.Body.Close()
			if strings.TrimSpace(string(body)) == "true" {
				return nil
			}
			last = fmt.Sprintf("%d %q", res.StatusCode, body)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return errors.New("the guard found no Pro key at the relay within " + timeout.String() + " (last: " + last + ")")
		}
		if err := pause(ctx); err != nil {
			return err
		}
	}
}

// errInterrupted is a start that ctx ended.
var errInterrupted = errors.New("interrupted while starting")

// pause waits a moment between two polls, or returns errInterrupted when
// ctx ends first.
func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return errInterrupted
	case <-time.After(200 * time.Millisecond):
		return nil
	}
}
