package outstatic

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/caddy-outstatic/caddy-outstatic/validate"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "outstatic",
		Short: "Tools for caddy-outstatic",
		Long: `
Tools for the outstatic guard and relay.

  check-callback   tells why a callback URL is accepted or refused
  key              manages the native relay's API keys
  member           manages the native relay's members and invitations
  origin           manages the native relay's stored callback origins
  doctor           checks a deployment end to end
`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.AddCommand(checkCallbackCommand(), keyCommand(), memberCommand(), originCommand(), doctorCommand())
		},
	})
}

// Exit codes of check-callback.
const (
	exitAccepted = 0
	exitRefused  = 1
	exitUsage    = 2
)

func checkCallbackCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "check-callback --origin URL [--origin URL ...] [--strict] [URL ...]",
		Short: "Checks callback URLs against callback origins",
		Long: `
Prints "accept" or the protocol's error code (invalid-callback-domain,
invalid-callback-target) for each URL, checked exactly as the guard and the
relay check them. With no URL arguments, reads JSON lines {"url": "..."} from
standard input and prints {"url": "...", "verdict": "..."} for each.

Exit status: 0 if every URL is accepted, 1 if any is refused, 2 on a usage
error (no --origin, a malformed origin, malformed input).
`,
		Args: cobra.ArbitraryArgs,
	}
	c.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		fmt.Fprintln(cmd.ErrOrStderr(), "check-callback:", err)
		os.Exit(exitUsage)
		return err
	})
	c.Flags().StringArray("origin", nil, "a callback origin, e.g. https://blog.example.com/outstatic (repeatable)")
	c.Flags().Bool("strict", false, "refuse the stock-client form <site root>/api/outstatic/callback")
	c.Flags().Bool("why", false, "print the reason next to each refusal")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		origins, _ := cmd.Flags().GetStringArray("origin")
		strict, _ := cmd.Flags().GetBool("strict")
		why, _ := cmd.Flags().GetBool("why")
		code, err := runCheckCallback(origins, strict, why, args, cmd.InOrStdin(), cmd.OutOrStdout())
		if err != nil {
			fmt.Fprintln(cmd.ErrOrStderr(), "check-callback:", err)
		}
		if code != exitAccepted {
			os.Exit(code)
		}
		return nil
	}
	return c
}

// checkResult is one output line of check-callback reading JSON lines.
type checkResult struct {
	URL     string `json:"url"`
	Verdict string `json:"verdict"`
	Reason  string `json:"reason,omitempty"`
}

// runCheckCallback does the work of check-callback and returns its exit code.
func runCheckCallback(rawOrigins []string, strict, why bool, urls []string, in io.Reader, out io.Writer) (int, error) {
	if len(rawOrigins) == 0 {
		return exitUsage, errors.New("at least one --origin is required")
	}
	var origins []validate.Origin
	for _, raw := range rawOrigins {
		o, err := validate.ParseOrigin(raw)
		if err != nil {
			return exitUsage, err
		}
		origins = append(origins, o)
	}
	targets := validate.Targets{Origins: origins, Strict: strict}
	verdict := func(u string) (string, string) {
		_, err := targets.Check(u)
		var ve *validate.Error
		if errors.As(err, &ve) {
			return ve.Code, ve.Reason
		}
		if err != nil {
			return validate.CodeInvalidCallbackDomain, err.Error()
		}
		return "accept", ""
	}
	status := exitAccepted
	if len(urls) > 0 {
		for _, u := range urls {
			v, reason := verdict(u)
			if v != "accept" {
				status = exitRefused
			}
			if why && reason != "" {
				fmt.Fprintf(out, "%s\t%s\n", v, reason)
			} else {
				fmt.Fprintln(out, v)
			}
		}
		return status, nil
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var req struct {
			URL *string `json:"url"`
		}
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil || req.URL == nil {
			return exitUsage, fmt.Errorf("line %d: want a JSON object with a string field \"url\"", line)
		}
		v, reason := verdict(*req.URL)
		if v != "accept" {
			status = exitRefused
		}
		res := checkResult{URL: *req.URL, Verdict: v}
		if why {
			res.Reason = reason
		}
		if err := enc.Encode(res); err != nil {
			return exitUsage, err
		}
	}
	if err := sc.Err(); err != nil {
		return exitUsage, fmt.Errorf("reading standard input: %v", err)
	}
	return status, nil
}

// originCommand is `caddy outstatic origin`: the native relay's stored
// callback origins, through the admin API of the running Caddy.
func originCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "origin add|remove|list",
		Short: "Manages the native relay's stored callback origins",
		Long: `
Manages the callback origins a native relay keeps in its store, beside the
Caddyfile's, through the admin API of the running Caddy (--address,
default: the configured or the default admin address). The API Keys page
of the relay changes the same list.

  add <url> --project P      stores a callback origin (https://site/outstatic)
  remove <url> --project P   removes a stored callback origin
  list [--project P]         prints the projects' origins, configured and stored
`,
	}
	for _, action := range []string{"add", "remove"} {
		sub := &cobra.Command{Use: action + " <url> --project <slug>", Short: action + " a stored callback origin", Args: cobra.ExactArgs(1)}
		sub.Flags().String("project", "", "the project's slug")
		sub.Flags().String("address", "", "the admin API's address")
		sub.RunE = func(cmd *cobra.Command, args []string) error {
			project, _ := cmd.Flags().GetString("project")
			if project == "" {
				return fmt.Errorf("--project is required")
			}
			addr, _ := cmd.Flags().GetString("address")
			var reply originsReply
			uri := "/outstatic/origins/" + url.PathEscape(project) + "/" + cmd.Name() + "?origin=" + url.QueryEscape(args[0])
			if err := adminCall(addr, http.MethodPost, uri, &reply); err != nil {
				return err
			}
			return printOrigins(cmd.OutOrStdout(), []originsReply{reply})
		}
		c.AddCommand(sub)
	}
	list := &cobra.Command{Use: "list [--project <slug>]", Short: "lists the projects' callback origins", Args: cobra.NoArgs}
	list.Flags().String("project", "", "only this project")
	list.Flags().String("address", "", "the admin API's address")
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		addr, _ := cmd.Flags().GetString("address")
		project, _ := cmd.Flags().GetString("project")
		var all []originsReply
		if err := adminCall(addr, http.MethodGet, "/outstatic/origins", &all); err != nil {
			return err
		}
		var out []originsReply
		for _, o := range all {
			if project == "" || o.Project == project {
				out = append(out, o)
			}
		}
		if project != "" && len(out) == 0 {
			return fmt.Errorf("no native relay serves project %q", project)
		}
		return printOrigins(cmd.OutOrStdout(), out)
	}
	c.AddCommand(list)
	return c
}

func printOrigins(w io.Writer, list []originsReply) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECT\tORIGIN\tSOURCE")
	for _, p := range list {
		for _, o := range p.Configured {
			fmt.Fprintf(tw, "%s\t%s\tCaddyfile\n", p.Project, o)
		}
		for _, o := range p.Stored {
			fmt.Fprintf(tw, "%s\t%s\tstored\n", p.Project, o)
		}
	}
	return tw.Flush()
}
