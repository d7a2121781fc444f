package outstatic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"regexp"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/caddy-outstatic/caddy-outstatic/relay/native"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
)

// memberCommand is `caddy outstatic member`: the native relay's stored
// members and invitations, through the admin API of the running Caddy.
func memberCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "member add|remove|role|list|invite|revoke-invite|log",
		Short: "Manages the native relay's members and invitations",
		Long: `
Manages the members a native relay keeps in its store, through the admin API
of the running Caddy (--address), as the operator: any role may be granted,
but a member is never added twice (change their role with role), members
listed in the Caddyfile are shown by list and cannot be changed here, and the
last owner is neither removed nor demoted.

  add <login-or-email> --role R --project P    adds a member
  role <login-or-email> --role R --project P   gives a stored member another role
  remove <login-or-email> --project P          removes a stored member; their
                                               sessions end at their next call
  invite <email> --role R --project P          invites an address for 7 days: e-mailed
                                               when the relay has an e-mail sender,
                                               else the link is printed to pass on
  revoke-invite <email> --project P            drops a pending invitation
  list                                         every project's members and invitations
  log --project P                              the recorded changes
`,
	}
	change := func(use, action, field string, needRole bool) *cobra.Command {
		sub := &cobra.Command{Use: use, Short: action + " (see caddy outstatic member --help)", Args: cobra.ExactArgs(1)}
		sub.Flags().String("project", "", "the project's slug")
		sub.Flags().String("role", "", "owner, admin, manager, editor or author")
		sub.Flags().String("address", "", "the admin API's address")
		sub.RunE = func(cmd *cobra.Command, args []string) error {
			project, _ := cmd.Flags().GetString("project")
			role, _ := cmd.Flags().GetString("role")
			addr, _ := cmd.Flags().GetString("address")
			if project == "" {
				return fmt.Errorf("--project is required")
			}
			if needRole && role == "" {
				return fmt.Errorf("--role is required")
			}
			in := map[string]string{field: args[0], "by": cliActor()}
			if needRole {
				in["role"] = role
			}
			var reply map[string]any
			if err := adminCallBody(addr, http.MethodPost, "/outstatic/members/"+project+"/"+action, in, &reply); err != nil {
				return adminRefusal(err)
			}
			return printMemberReply(cmd.OutOrStdout(), action, project, args[0], reply)
		}
		return sub
	}
	c.AddCommand(
		change("add <login-or-email> --role <role> --project <slug>", "add", "who", true),
		change("role <login-or-email> --role <role> --project <slug>", "role", "who", true),
		change("remove <login-or-email> --project <slug>", "remove", "who", false),
		change("invite <email> --role <role> --project <slug>", "invite", "email", true),
		change("revoke-invite <email> --project <slug>", "revoke-invite", "email", false),
	)

	list := &cobra.Command{Use: "list", Short: "lists every project's members and invitations", Args: cobra.NoArgs}
	list.Flags().String("address", "", "the admin API's address")
	list.Flags().String("project", "", "only this project")
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		addr, _ := cmd.Flags().GetString("address")
		only, _ := cmd.Flags().GetString("project")
		var projects []projectMembers
		if err := adminCallBody(addr, http.MethodGet, "/outstatic/members", nil, &projects); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PROJECT\tWHO\tROLE\tSOURCE\tSINCE\tBY")
		for _, p := range projects {
			if only != "" && p.Project != only {
				continue
			}
			for _, m := range p.Members {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Project, m.Who, m.Role, m.Source, memberTime(m.Since), m.By)
			}
			for _, inv := range p.Invitations {
				fmt.Fprintf(tw, "%s\t%s\t%s\tinvited\t%s\t%s (until %s)\n", p.Project, inv.Email, inv.Role, memberTime(inv.Created), inv.By, memberTime(inv.Expires))
			}
		}
		return tw.Flush()
	}
	c.AddCommand(list)

	logCmd := &cobra.Command{Use: "log --project <slug>", Short: "prints a project's recorded member changes", Args: cobra.NoArgs}
	logCmd.Flags().String("address", "", "the admin API's address")
	logCmd.Flags().String("project", "", "the project's slug")
	logCmd.RunE = func(cmd *cobra.Command, _ []string) error {
		addr, _ := cmd.Flags().GetString("address")
		project, _ := cmd.Flags().GetString("project")
		if project == "" {
			return fmt.Errorf("--project is required")
		}
		var entries []native.AuditEntry
		if err := adminCallBody(addr, http.MethodGet, "/outstatic/members/"+project+"/log", nil, &entries); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "AT\tBY\tWHAT")
		for _, e := range entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", memberTime(e.At), e.By, e.What)
		}
		return tw.Flush()
	}
	c.AddCommand(logCmd)
	return c
}

// cliActor names who runs the command, for the members log.
func cliActor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		name += "@" + host
	}
	return "cli:" + name
}

func printMemberReply(w io.Writer, action, project, who string, reply map[string]any) error {
	var err error
	switch action {
	case "add", "role":
		_, err = fmt.Fprintf(w, "%s is %s of %s\n", reply["who"], reply["role"], project)
	case "remove":
		_, err = fmt.Fprintf(w, "removed %s from %s; their sessions end at their next call\n", who, project)
	case "revoke-invite":
		_, err = fmt.Fprintf(w, "revoked the invitation of %s to %s\n", who, project)
	case "invite":
		if sent, _ := reply["sent"].(bool); sent {
			_, err = fmt.Fprintf(w, "invited %s to %s as %s until %s: the invitation was e-mailed\n", who, project, reply["role"], reply["expires"])
		} else {
			_, err = fmt.Fprintf(w, "invited %s to %s as %s until %s\nThe relay has no e-mail sender, so nothing was sent: pass this link on yourself.\nSigning in there with %s (any login) makes them a member:\n%s\n",
				who, project, reply["role"], reply["expires"], who, reply["link"])
		}
	}
	return err
}

// caddyErrorAnswer is how caddycmd.AdminAPIRequest reports an answer
// with an error status: the status, then the body, which Caddy's admin
// API writes as {"error": "..."}.
var caddyErrorAnswer = regexp.MustCompile(`(?s)^caddy responded with error: HTTP (\d{3}): (\{.*\})\s*$`)

// adminRefusal turns the admin API's refusal of a member change into its
// reason and status, as the command's error; any other error stays as
// it is.
func adminRefusal(err error) error {
	var body struct {
		Error string `json:"error"`
	}
	m := caddyErrorAnswer.FindStringSubmatch(err.Error())
	if m == nil || json.Unmarshal([]byte(m[2]), &body) != nil || body.Error == "" {
		return err
	}
	return fmt.Errorf("%s (HTTP %s)", body.Error, m[1])
}

// adminCallBody calls the admin API with a JSON body (none if in is nil)
// and decodes its JSON answer into v.
func adminCallBody(address, method, uri string, in, v any) error {
	addr, err := caddycmd.DetermineAdminAPIAddress(address, nil, "", "")
	if err != nil {
		return err
	}
	var body io.Reader
	hdr := http.Header{}
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
		hdr.Set("Content-Type", "application/json")
	}
	res, err := caddycmd.AdminAPIRequest(addr, method, uri, hdr, body)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(v)
}
