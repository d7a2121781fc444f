package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// checkCallbackCommand is `caddy outstatic check-callback`: callback URLs
// judged against callback origins, offline, as the guard and relay judge them.
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
		if code != exitOK {
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
	status := exitOK
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
