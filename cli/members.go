package cli

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/caddy-outstatic/caddy-outstatic/adminapi"
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
		addressFlag(sub)
		sub.RunE = func(cmd *cobra.Command, args []string) error {
			project, err := requiredFlag(cmd, "project")
			if err != nil {
				return err
			}
			in := adminapi.MemberRequest{By: cliActor()}
			*map[string]*string{"who": &in.Who, "email": &in.Email}[field] = args[0]
			if needRole {
				if in.Role, err = requiredFlag(cmd, "role"); err != nil {
					return err
				}
			}
			var reply map[string]any
			if err := callAdmin(cmd, http.MethodPost, projectURI(adminapi.MembersPath, project, action), in, &reply); err != nil {
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
	addressFlag(list)
	list.Flags().String("project", "", "only this project")
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		only, _ := cmd.Flags().GetString("project")
		var projects []adminapi.ProjectMembers
		if err := callAdmin(cmd, http.MethodGet, adminapi.MembersPath, nil, &projects); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PROJECT\tWHO\tROLE\tSOURCE\tSINCE\tBY")
		for _, p := range projects {
			if only != "" && p.Project != only {
				continue
			}
			for _, m := range p.Members {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Project, m.Who, m.Role, m.Source, tableTime(m.Since), m.By)
			}
			for _, inv := range p.Invitations {
				fmt.Fprintf(tw, "%s\t%s\t%s\tinvited\t%s\t%s (until %s)\n", p.Project, inv.Email, inv.Role, tableTime(inv.Created), inv.By, tableTime(inv.Expires))
			}
		}
		return tw.Flush()
	}
	c.AddCommand(list)

	logCmd := &cobra.Command{Use: "log --project <slug>", Short: "prints a project's recorded member changes", Args: cobra.NoArgs}
	addressFlag(logCmd)
	logCmd.Flags().String("project", "", "the project's slug")
	logCmd.RunE = func(cmd *cobra.Command, _ []string) error {
		project, err := requiredFlag(cmd, "project")
		if err != nil {
			return err
		}
		var entries []adminapi.AuditEntry
		if err := callAdmin(cmd, http.MethodGet, projectURI(adminapi.MembersPath, project, "log"), nil, &entries); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "AT\tBY\tWHAT")
		for _, e := range entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", tableTime(e.At), e.By, e.What)
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

// printMemberReply prints the answer to a member change.
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
