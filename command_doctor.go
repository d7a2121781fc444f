package outstatic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/caddy-outstatic/caddy-outstatic/doctor"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile" // the caddyfile adapter
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Exit codes of doctor.
const (
	doctorOK       = 0
	doctorFindings = 1
	doctorUsage    = 2
)

func doctorCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "doctor --config Caddyfile [--env site/.env] [--site URL] [--json]",
		Short: "Checks a deployment end to end",
		Long: `
Reads the Caddy config (a Caddyfile, or JSON with --adapter ""), then checks
the deployment it describes against the network, one line per finding with
what to change: every callback origin valid and answered by the guard; the
guard ordered before reverse_proxy; the site's listen address covered by
app_origin; the key accepted by the service or the relay; the clock against
the service's; with --site, that the site's public URL is a callback
origin's; with --env, the site's OUTSTATIC_API_URL (set, no trailing
slash, reachable from a visitor's browser, answering the dashboard's CORS
preflight for every callback origin) and OUTSTATIC_API_KEY; Caddy's storage
writable; every configured Redis answering, with the form reached (one
server, Sentinel, Cluster), the role of the node and the TLS state. Run it where Caddy runs, with
its environment (the {env.*} placeholders are expanded).

Exit status: 0 if every check passed, 1 if there are findings, 2 on a usage
error (no config, a config that does not adapt, an unreadable .env).
`,
		Args: cobra.NoArgs,
	}
	c.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		fmt.Fprintln(cmd.ErrOrStderr(), "doctor:", err)
		os.Exit(doctorUsage)
		return err
	})
	c.Flags().String("config", "", "the Caddy config file (required)")
	c.Flags().String("adapter", "caddyfile", `its adapter; "" for JSON`)
	c.Flags().String("env", "", "the site's .env file")
	c.Flags().String("site", "", "the site's public URL, e.g. https://blog.example.com")
	c.Flags().Bool("json", false, "print the findings as JSON lines")
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		config, _ := cmd.Flags().GetString("config")
		adapter, _ := cmd.Flags().GetString("adapter")
		envFile, _ := cmd.Flags().GetString("env")
		site, _ := cmd.Flags().GetString("site")
		asJSON, _ := cmd.Flags().GetBool("json")
		code := runDoctor(cmd.Context(), doctorArgs{config: config, adapter: adapter, env: envFile, site: site, json: asJSON},
			cmd.OutOrStdout(), cmd.ErrOrStderr())
		if code != doctorOK {
			os.Exit(code)
		}
		return nil
	}
	return c
}

// doctorClient makes the doctor's requests; nil means doctor's default.
// Tests set one that sends every name to 127.0.0.1.
var doctorClient *http.Client

// doctorArgs are the doctor's flags.
type doctorArgs struct {
	config, adapter, env, site string
	json                       bool
}

// runDoctor reads the config and the .env, runs the checks and prints
// them; it returns the exit status.
func runDoctor(ctx context.Context, a doctorArgs, out, errOut io.Writer) int {
	if ctx == nil {
		ctx = context.Background()
	}
	config, adapter, envFile, asJSON := a.config, a.adapter, a.env, a.json
	if config == "" {
		fmt.Fprintln(errOut, "doctor: --config is required")
		return doctorUsage
	}
	d, err := deploymentOf(config, adapter)
	if err != nil {
		fmt.Fprintln(errOut, "doctor:", err)
		return doctorUsage
	}
	if envFile != "" {
		raw, err := os.ReadFile(envFile)
		if err != nil {
			fmt.Fprintln(errOut, "doctor:", err)
			return doctorUsage
		}
		d.SiteEnv = doctor.ParseEnv(string(raw))
	}
	d.Client = doctorClient
	d.SiteURL = a.site
	findings := doctor.Check(ctx, d)
	for _, f := range findings {
		if asJSON {
			b, _ := json.Marshal(f)
			fmt.Fprintln(out, string(b))
		} else {
			fmt.Fprintln(out, f)
		}
	}
	if doctor.Failed(findings) {
		return doctorFindings
	}
	return doctorOK
}

// deploymentOf adapts the config and finds in it what the doctor checks.
func deploymentOf(config, adapter string) (doctor.Deployment, error) {
	var d doctor.Deployment
	raw, err := os.ReadFile(config)
	if err != nil {
		return d, err
	}
	if adapter != "" {
		a := caddyconfig.GetAdapter(adapter)
		if a == nil {
			return d, fmt.Errorf("unknown adapter %q", adapter)
		}
		if raw, _, err = a.Adapt(raw, map[string]any{"filename": config}); err != nil {
			return d, fmt.Errorf("adapting %s: %v", config, err)
		}
	}
	var cfg struct {
		Storage struct {
			Module string `json:"module"`
			Root   string `json:"root"`
		} `json:"storage"`
		Apps struct {
			HTTP caddyhttp.App `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return d, fmt.Errorf("reading %s: %v", config, err)
	}
	switch cfg.Storage.Module {
	case "", "file_system":
		d.StorageDir = cfg.Storage.Root
		if d.StorageDir == "" {
			d.StorageDir = caddy.AppDataDir()
		}
	}
	repl := caddy.NewReplacer()
	for name, srv := range cfg.Apps.HTTP.Servers {
		for _, route := range srv.Routes {
			// one site block: its handlers in the order they run
			var handlers []json.RawMessage
			flatten(route.HandlersRaw, &handlers)
			addSite(&d, name, handlers, repl)
		}
	}
	if d.StorageDir != "" {
		d.StorageDir = filepath.Clean(d.StorageDir)
	}
	return d, nil
}

// flatten appends the handlers in raw, and those of their subroutes, in
// the order they run.
func flatten(raw []json.RawMessage, out *[]json.RawMessage) {
	for _, h := range raw {
		var sub struct {
			Handler string `json:"handler"`
			Routes  []struct {
				Handle []json.RawMessage `json:"handle"`
			} `json:"routes"`
		}
		_ = json.Unmarshal(h, &sub)
		if sub.Handler == "subroute" {
			for _, r := range sub.Routes {
				flatten(r.Handle, out)
			}
			continue
		}
		*out = append(*out, h)
	}
}

// addSite adds what one site block's handlers hold: its guards, with the
// upstreams of its reverse proxies, and every Redis.
func addSite(d *doctor.Deployment, server string, handlers []json.RawMessage, repl *caddy.Replacer) {
	var upstreams []string
	firstProxy, guards := -1, []int{}
	var gs []doctor.Guard
	for i, raw := range handlers {
		var h struct {
			Handler   string `json:"handler"`
			Upstreams []struct {
				Dial string `json:"dial"`
			} `json:"upstreams"`
		}
		_ = json.Unmarshal(raw, &h)
		switch h.Handler {
		case "reverse_proxy":
			if firstProxy < 0 {
				firstProxy = i
			}
			for _, u := range h.Upstreams {
				upstreams = append(upstreams, u.Dial)
			}
		case "outstatic":
			var g Guard
			_ = json.Unmarshal(raw, &g)
			guards = append(guards, i)
			gs = append(gs, doctor.Guard{Server: server, CallbackOrigins: g.CallbackOrigins, AppOrigins: g.AppOrigins,
				APIKey: repl.ReplaceKnown(g.APIKey, ""), Service: g.Service})
			addRedis(d, "guard token_store", g.TokenStore, repl)
		case "outstatic_relay":
			var rl Relay
			_ = json.Unmarshal(raw, &rl)
			addRedis(d, "relay token_store", rl.TokenStore, repl)
			if rl.Redis != nil {
				addRedis(d, "relay storage", &SharedStore{Redis: rl.Redis}, repl)
			}
		}
	}
	for i := range gs {
		gs[i].Upstreams = upstreams
		gs[i].ProxyFirst = firstProxy >= 0 && firstProxy < guards[i]
		d.Guards = append(d.Guards, gs[i])
	}
}

func addRedis(d *doctor.Deployment, where string, s *SharedStore, repl *caddy.Replacer) {
	if s == nil || s.Redis == nil {
		return
	}
	d.Redis = append(d.Redis, doctor.Redis{Where: where, Config: *s.Redis,
		Expand: func(v string) string { return repl.ReplaceKnown(v, "") }})
}
