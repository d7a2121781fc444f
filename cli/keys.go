package cli

import (
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/caddy-outstatic/caddy-outstatic/adminapi"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// keyCommand is `caddy outstatic key`: the native relay's API keys, through
// the admin API of the running Caddy.
func keyCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "key create|rotate|revoke|list|generate",
		Short: "Manages the native relay's API keys",
		Long: `
Manages the API keys of the projects a native relay serves, through the
admin API of the running Caddy (--address, default: the configured or the
default admin address).

  create --project P   makes the project's key and prints it once
  rotate --project P   makes a new key; the old one fails at once (within a
                       second on other instances sharing the storage)
  revoke --project P   removes the key; the project's sessions end
  list                 prints each project's key prefix and creation time
  generate             prints a new key and its SHA-256 for key_sha256,
                       storing nothing (for keys declared in the config)
`,
	}
	for _, action := range []string{"create", "rotate", "revoke"} {
		sub := &cobra.Command{
			Use:   action + " --project <slug>",
			Short: action + " a project's key",
			Args:  cobra.NoArgs,
		}
		sub.Flags().String("project", "", "the project's slug")
		addressFlag(sub)
		sub.RunE = func(cmd *cobra.Command, _ []string) error {
			project, err := requiredFlag(cmd, "project")
			if err != nil {
				return err
			}
			if cmd.Name() != "revoke" {
				// The answer is the new key: it must not cross a
				// network in clear, and a rotate that could not
				// show it would leave the site with a revoked key.
				addr, err := adminAddress(cmd)
				if err == nil {
					err = checkLocalAdmin(addr)
				}
				if err != nil {
					return err
				}
			}
			var reply adminapi.KeyReply
			if err := callAdmin(cmd, http.MethodPost, projectURI(adminapi.KeysPath, project, cmd.Name()), nil, &reply); err != nil {
				return err
			}
			return printKeyReply(cmd.OutOrStdout(), reply)
		}
		c.AddCommand(sub)
	}
	list := &cobra.Command{Use: "list", Short: "lists the projects' keys", Args: cobra.NoArgs}
	addressFlag(list)
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		var keys []adminapi.KeyInfo
		if err := callAdmin(cmd, http.MethodGet, adminapi.KeysPath, nil, &keys); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PROJECT\tPREFIX\tCREATED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s…\t%s\n", k.Project, k.Prefix, k.Created.Format(time.RFC3339))
		}
		return tw.Flush()
	}
	c.AddCommand(list)
	c.AddCommand(&cobra.Command{
		Use:   "generate",
		Short: "prints a new key and its SHA-256, storing nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, hash, _, err := relay.NewKey()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "key:        %s\nkey_sha256: %s\n", key, hash)
			return nil
		},
	})
	return c
}

// printKeyReply prints the answer to a key change; a new key, this once.
func printKeyReply(w io.Writer, r adminapi.KeyReply) error {
	if r.Revoked {
		_, err := fmt.Fprintf(w, "revoked the key of %s\n", r.Project)
		return err
	}
	_, err := fmt.Fprintf(w, "project: %s\nkey:     %s\nprefix:  %s\ncreated: %s\n\nThe key is shown this once: set it as the site's OUTSTATIC_API_KEY now.\n",
		r.Project, r.Key, r.Prefix, r.Created.Format(time.RFC3339))
	return err
}
