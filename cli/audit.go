package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/caddy-outstatic/caddy-outstatic/adminapi"
)

// auditCommand is `caddy outstatic audit`: the native relay's audit log,
// through the admin API of the running Caddy.
func auditCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "audit [--project <slug>] [--since 24h] [--kind <kind>] [--member <who>] [--json]",
		Short: "Prints the native relay's audit log",
		Long: `
Prints the native relay's audit log, newest first: sign-ins (admitted and
refused), sign-outs, sessions ended by a reused refresh token, key, member,
invitation, callback origin and project changes, and refused changes. The
events are also on the logger outstatic.audit. --json prints one JSON
object an event, a line each.
`,
		Args: cobra.NoArgs,
	}
	c.Flags().String("project", "", "only this project's events")
	c.Flags().String("since", "", "only events since: a duration back (24h, 7d) or an RFC 3339 time")
	c.Flags().String("kind", "", "only events of this kind (sign-in, key-created, ...)")
	c.Flags().String("member", "", "only events about this GitHub login or e-mail address")
	c.Flags().Int("limit", 100, "at most this many events")
	c.Flags().Bool("json", false, "one JSON object an event, a line each")
	addressFlag(c)
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		v := url.Values{}
		for _, name := range []string{"project", "since", "kind", "member"} {
			if s, _ := cmd.Flags().GetString(name); s != "" {
				v.Set(name, s)
			}
		}
		limit, _ := cmd.Flags().GetInt("limit")
		v.Set("limit", fmt.Sprint(limit))
		var page adminapi.AuditPage
		if err := callAdmin(cmd, http.MethodGet, adminapi.AuditPath+"?"+v.Encode(), nil, &page); err != nil {
			return adminRefusal(err)
		}
		if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
			enc := json.NewEncoder(cmd.OutOrStdout())
			for _, e := range page.Events {
				if err := enc.Encode(e); err != nil {
					return err
				}
			}
			return nil
		}
		return printAudit(cmd.OutOrStdout(), page)
	}
	return c
}

// printAudit prints events, one a row, and how many more matched.
func printAudit(w io.Writer, page adminapi.AuditPage) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tKIND\tPROJECT\tBY\tFROM\tWHAT")
	for _, e := range page.Events {
		by := e.By
		if e.Operator {
			by += " (operator)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", tableTime(e.At), e.Kind, dash(e.Project), dash(by), dash(e.ClientIP),
			strings.ReplaceAll(e.What, "\n", " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if more := page.Total - len(page.Events); more > 0 {
		fmt.Fprintf(w, "(%d older events not shown: use --limit or --since)\n", more)
	}
	return nil
}

// dash is s, or "-" for none.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
