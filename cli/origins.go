package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/caddy-outstatic/caddy-outstatic/adminapi"
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
		addressFlag(sub)
		sub.RunE = func(cmd *cobra.Command, args []string) error {
			project, err := requiredFlag(cmd, "project")
			if err != nil {
				return err
			}
			var reply adminapi.OriginsReply
			uri := projectURI(adminapi.OriginsPath, project, cmd.Name()) + "?origin=" + url.QueryEscape(args[0])
			if err := callAdmin(cmd, http.MethodPost, uri, nil, &reply); err != nil {
				return err
			}
			return printOrigins(cmd.OutOrStdout(), []adminapi.OriginsReply{reply})
		}
		c.AddCommand(sub)
	}
	list := &cobra.Command{Use: "list [--project <slug>]", Short: "lists the projects' callback origins", Args: cobra.NoArgs}
	list.Flags().String("project", "", "only this project")
	addressFlag(list)
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		project, _ := cmd.Flags().GetString("project")
		var all []adminapi.OriginsReply
		if err := callAdmin(cmd, http.MethodGet, adminapi.OriginsPath, nil, &all); err != nil {
			return err
		}
		var out []adminapi.OriginsReply
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

// printOrigins prints each project's origins, one a row, with where each
// comes from.
func printOrigins(w io.Writer, list []adminapi.OriginsReply) error {
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
