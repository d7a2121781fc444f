package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	"github.com/caddy-outstatic/caddy-outstatic/doctor"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile" // the caddyfile adapter
)

// doctorCommand is `caddy outstatic doctor`: the deployment a config
// describes, checked against the network by package doctor.
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
		os.Exit(exitUsage)
		return err
	})
	c.Flags().String("config", "", "the Caddy config file (required)")
	c.Flags().String("adapter", "caddyfile", `its adapter; "" for JSON`)
	c.Flags().String("env", "", "the site's .env file")
	c.Flags().String("site", "", "the site's public URL, e.g. https://blog.example.com")
	c.Flags().Bool("json", false, "print the findings as JSON lines")
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		var run Doctor
		run.Config, _ = cmd.Flags().GetString("config")
		run.Adapter, _ = cmd.Flags().GetString("adapter")
		run.Env, _ = cmd.Flags().GetString("env")
		run.Site, _ = cmd.Flags().GetString("site")
		run.JSON, _ = cmd.Flags().GetBool("json")
		if code := run.Run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()); code != exitOK {
			os.Exit(code)
		}
		return nil
	}
	return c
}

// Doctor is one run of `caddy outstatic doctor`: its flags, and the client
// its checks use.
type Doctor struct {
	// Config is the Caddy config file; Adapter its adapter, "" for JSON.
	Config, Adapter string
	// Env is the site's .env file; "" for none.
	Env string
	// Site is the site's public URL; "" for none.
	Site string
	// JSON prints the findings as JSON lines.
	JSON bool
	// Client makes the checks' requests; nil is package doctor's default.
	Client *http.Client
}

// Run reads the config and the .env, runs the checks and prints them to
// out, and a usage error to errOut. It returns the exit status: 0 when
// every check passed, 1 with findings, 2 on a usage error.
func (a Doctor) Run(ctx context.Context, out, errOut io.Writer) int {
	if ctx == nil {
		ctx = context.Background()
	}
	if a.Config == "" {
		fmt.Fprintln(errOut, "doctor: --config is required")
		return exitUsage
	}
	d, err := deploymentOf(a.Config, a.Adapter)
	if err != nil {
		fmt.Fprintln(errOut, "doctor:", err)
		return exitUsage
	}
	if a.Env != "" {
		raw, err := os.ReadFile(a.Env)
		if err != nil {
			fmt.Fprintln(errOut, "doctor:", err)
			return exitUsage
		}
		d.SiteEnv = doctor.ParseEnv(string(raw))
	}
	d.Client = a.Client
	d.SiteURL = a.Site
	findings := doctor.Check(ctx, d)
	for _, f := range findings {
		if a.JSON {
			b, _ := json.Marshal(f)
			fmt.Fprintln(out, string(b))
		} else {
			fmt.Fprintln(out, f)
		}
	}
	if doctor.Failed(findings) {
		return exitFindings
	}
	return exitOK
}

// deploymentOf adapts the config and finds in it what the doctor checks,
// with its placeholders expanded as Caddy expands them when it loads.
func deploymentOf(config, adapter string) (doctor.Deployment, error) {
	raw, err := os.ReadFile(config)
	if err != nil {
		return doctor.Deployment{}, err
	}
	if adapter != "" {
		a := caddyconfig.GetAdapter(adapter)
		if a == nil {
			return doctor.Deployment{}, fmt.Errorf("unknown adapter %q", adapter)
		}
		if raw, _, err = a.Adapt(raw, map[string]any{"filename": config}); err != nil {
			return doctor.Deployment{}, fmt.Errorf("adapting %s: %v", config, err)
		}
	}
	repl := caddy.NewReplacer()
	d, err := doctor.FromConfig(raw, caddy.AppDataDir(), func(v string) string { return repl.ReplaceKnown(v, "") })
	if err != nil {
		return d, fmt.Errorf("reading %s: %v", config, err)
	}
	d.Admin, err = adminOf(raw)
	if err != nil {
		return d, fmt.Errorf("reading %s: %v", config, err)
	}
	return d, nil
}

// adminOf is the admin API the adapted config sets up (nil when it turns
// it off), probed with a GET of its config.
func adminOf(adapted []byte) (*doctor.Admin, error) {
	var cfg struct {
		Admin *caddy.AdminConfig `json:"admin"`
	}
	if err := json.Unmarshal(adapted, &cfg); err != nil {
		return nil, err
	}
	if cfg.Admin != nil && cfg.Admin.Disabled {
		return nil, nil
	}
	addr := caddy.DefaultAdminListen
	if cfg.Admin != nil && cfg.Admin.Listen != "" {
		addr = cfg.Admin.Listen
	}
	return &doctor.Admin{Address: addr, Probe: func(context.Context) error {
		res, err := adminRequest(addr, http.MethodGet, "/config/", nil, nil)
		if err != nil {
			return err
		}
		return res.Body.Close()
	}}, nil
}
