package outstatic

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

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
