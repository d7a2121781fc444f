package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/caddy-outstatic/caddy-outstatic/adminapi"
)

// projectCommand is `caddy outstatic project`: the native relay's
// projects, through the admin API of the running Caddy.
func projectCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "project create|list|show|delete",
		Short: "Manages the native relay's projects",
		Long: `
Manages the projects a native relay serves, through the admin API of the
running Caddy (--address, default: the configured or the default admin
address). A project made here is kept in the relay's store, survives a
restart and is served by every relay on the same store within a second or
so, with no reload. A project of the Caddyfile wins over a stored one of the
same slug and is changed only there.

  create <slug> --repo owner/name --origin https://site/outstatic [--origin ...]
         [--plan pro|free] [--owner <GitHub login or e-mail>]
  list                     prints every project, the Caddyfile's and the store's
  show <slug>              prints one project
  delete <slug> [--yes]    deletes a stored project: its key is revoked, its
                           sessions end, its members, invitations and origins go
`,
	}
	create := &cobra.Command{Use: "create <slug> --repo <owner/name> --origin <url>", Short: "makes a project", Args: cobra.ExactArgs(1)}
	create.Flags().String("repo", "", "the GitHub repository, owner/name")
	create.Flags().StringArray("origin", nil, "a callback origin, https://site/outstatic (repeatable)")
	create.Flags().String("plan", "pro", "pro or free")
	create.Flags().String("owner", "", "the GitHub login or e-mail address of its first owner")
	addressFlag(create)
	create.RunE = func(cmd *cobra.Command, args []string) error {
		in := adminapi.ProjectRequest{Slug: args[0], By: cliActor()}
		in.Repo, _ = cmd.Flags().GetString("repo")
		in.Origins, _ = cmd.Flags().GetStringArray("origin")
		in.Plan, _ = cmd.Flags().GetString("plan")
		in.Owner, _ = cmd.Flags().GetString("owner")
		var info adminapi.ProjectInfo
		if err := callAdmin(cmd, http.MethodPost, adminapi.ProjectsPath, in, &info); err != nil {
			return adminRefusal(err)
		}
		return printProjects(cmd.OutOrStdout(), []adminapi.ProjectInfo{info})
	}
	list := &cobra.Command{Use: "list", Short: "lists the projects", Args: cobra.NoArgs}
	addressFlag(list)
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		var all []adminapi.ProjectInfo
		if err := callAdmin(cmd, http.MethodGet, adminapi.ProjectsPath, nil, &all); err != nil {
			return adminRefusal(err)
		}
		return printProjects(cmd.OutOrStdout(), all)
	}
	show := &cobra.Command{Use: "show <slug>", Short: "shows one project", Args: cobra.ExactArgs(1)}
	addressFlag(show)
	show.RunE = func(cmd *cobra.Command, args []string) error {
		info, err := showProject(cmd, args[0])
		if err != nil {
			return err
		}
		return printProjects(cmd.OutOrStdout(), []adminapi.ProjectInfo{info})
	}
	del := &cobra.Command{Use: "delete <slug> [--yes]", Short: "deletes a project made at run time", Args: cobra.ExactArgs(1)}
	del.Flags().Bool("yes", false, "do not ask for the slug again")
	addressFlag(del)
	del.RunE = func(cmd *cobra.Command, args []string) error { return deleteProject(cmd, args[0]) }
	c.AddCommand(create, list, show, del)
	return c
}

// showProject reads one project.
func showProject(cmd *cobra.Command, slug string) (adminapi.ProjectInfo, error) {
	var info adminapi.ProjectInfo
	err := callAdmin(cmd, http.MethodGet, adminapi.ProjectsPath+"/"+url.PathEscape(slug), nil, &info)
	if err != nil {
		return info, adminRefusal(err)
	}
	return info, nil
}

// deleteProject deletes slug once its slug is typed again (or --yes). A
// project of the Caddyfile is refused before anything is asked.
func deleteProject(cmd *cobra.Command, slug string) error {
	info, err := showProject(cmd, slug)
	if err != nil {
		return err
	}
	if info.Source == "config" {
		return fmt.Errorf("project %s is in the Caddyfile, which wins over the store and cannot be changed at run time: remove its block there and reload", slug)
	}
	if yes, _ := cmd.Flags().GetBool("yes"); !yes {
		fmt.Fprintf(cmd.ErrOrStderr(), "Deleting %s (%s) revokes its key and ends its sessions; its members, invitations and callback origins are removed.\nType the slug again to confirm: ", slug, info.Repo)
		line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if strings.TrimSpace(line) != slug {
			return fmt.Errorf("not deleted: the slug typed was not %s", slug)
		}
	}
	var out adminapi.ProjectDeleted
	uri := adminapi.ProjectsPath + "/" + url.PathEscape(slug) + "?by=" + url.QueryEscape(cliActor())
	if err := callAdmin(cmd, http.MethodDelete, uri, nil, &out); err != nil {
		return adminRefusal(err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "deleted project %s: its key is revoked and its sessions end\n", slug)
	return nil
}

// printProjects prints projects, one a row.
func printProjects(w io.Writer, list []adminapi.ProjectInfo) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECT\tREPO\tPLAN\tSOURCE\tORIGINS\tCREATED")
	for _, p := range list {
		source := map[string]string{"config": "Caddyfile", "store": "stored"}[p.Source]
		if p.Shadowed {
			source += " (shadowed by the Caddyfile)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Slug, p.Repo, p.Plan, source, strings.Join(p.Origins, " "), tableTime(p.Created))
	}
	return tw.Flush()
}
