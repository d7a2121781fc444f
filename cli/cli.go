// Package cli is the `caddy outstatic ...` commands: check-callback, key,
// member, origin, project, audit and doctor. It registers them with Caddy's command line
// when imported (the plugin's root package imports it, so a Caddy built
// with the plugin has them). The commands that change a running relay
// speak HTTP to Caddy's admin API (adminapi is its JSON); none needs the
// root package.
package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/caddyserver/caddy/v2"
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
  project          manages the native relay's projects made at run time
  audit            prints the native relay's audit log
  doctor           checks a deployment end to end
`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.AddCommand(checkCallbackCommand(), keyCommand(), memberCommand(), originCommand(), projectCommand(), auditCommand(), doctorCommand())
		},
	})
}

// Exit statuses of check-callback and doctor.
const (
	exitOK       = 0 // every URL accepted, every check passed
	exitRefused  = 1 // check-callback refused a URL
	exitFindings = 1 // doctor has findings
	exitUsage    = 2 // a flag, the input or the config is wrong
)

// addressFlag adds --address, the admin API's, to a command that calls it.
func addressFlag(c *cobra.Command) {
	c.Flags().String("address", "", "the admin API's address")
}

// requiredFlag is the value of a string flag that must be given.
func requiredFlag(cmd *cobra.Command, name string) (string, error) {
	v, _ := cmd.Flags().GetString(name)
	if v == "" {
		return "", fmt.Errorf("--%s is required", name)
	}
	return v, nil
}

// projectURI is the admin route of an action on one project:
// <base>/<project>/<action>.
func projectURI(base, project, action string) string {
	return base + "/" + url.PathEscape(project) + "/" + action
}

// adminAddress is the admin API address the command calls: --address,
// else the configured or the default admin address.
func adminAddress(cmd *cobra.Command) (string, error) {
	address, _ := cmd.Flags().GetString("address")
	return caddycmd.DetermineAdminAPIAddress(address, nil, "", "")
}

// checkLocalAdmin refuses an admin API address that an answer carrying a
// secret (a new API key) would reach across a network: the commands speak
// plain HTTP to it (as caddycmd.AdminAPIRequest does), so only a unix
// socket, a file descriptor, a loopback IP, "localhost" or no host at all
// (empty, 0.0.0.0 or ::, which a connection reaches on this machine) keeps
// the answer on this machine. A host name other than localhost is refused
// even if it resolves to loopback today: what it resolves to can change.
func checkLocalAdmin(addr string) error {
	na, err := caddy.ParseNetworkAddress(addr)
	if err != nil {
		return fmt.Errorf("invalid admin address %s: %v", addr, err)
	}
	if na.IsUnixNetwork() || na.IsFdNetwork() {
		return nil
	}
	if na.Host == "localhost" || na.Host == "" {
		return nil
	}
	if ip := net.ParseIP(na.Host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		return nil
	}
	return fmt.Errorf("admin address %s is not a loopback address or a unix socket: the answer carries a new API key, which would cross the network in clear HTTP; run the command where Caddy runs (--address localhost:<port>, or a unix socket), through an SSH tunnel if need be", addr)
}

// callAdmin calls the admin API at the command's --address (default: the
// configured or the default admin address) with in as a JSON body (none
// if nil), and decodes its JSON answer into out.
func callAdmin(cmd *cobra.Command, method, uri string, in, out any) error {
	addr, err := adminAddress(cmd)
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
	res, err := adminRequest(addr, method, uri, hdr, body)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(out)
}

// adminRequest is caddycmd.AdminAPIRequest, whose error, when the admin
// API cannot be reached at all, asks whether Caddy runs and where it was
// looked for.
func adminRequest(addr, method, uri string, hdr http.Header, body io.Reader) (*http.Response, error) {
	res, err := caddycmd.AdminAPIRequest(addr, method, uri, hdr, body)
	if err != nil && strings.HasPrefix(err.Error(), "performing request:") {
		return nil, fmt.Errorf("%v: is Caddy running? (admin API at %s)", err, addr)
	}
	return res, err
}

// caddyErrorAnswer is how caddycmd.AdminAPIRequest reports an answer
// with an error status: the status, then the body, which Caddy's admin
// API writes as {"error": "..."}.
var caddyErrorAnswer = regexp.MustCompile(`(?s)^caddy responded with error: HTTP (\d{3}): (\{.*\})\s*$`)

// adminRefusal turns the admin API's refusal of a change into its reason
// and status, as the command's error; any other error stays as it is.
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

// tableTime formats a time for the commands' tables: RFC 3339 in UTC, or
// "-" for none.
func tableTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
