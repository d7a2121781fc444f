// Package runas names the user this process runs as, for errors that
// say whose permissions are missing.
package runas

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
)

// User is the user this process runs as, by name and uid:
// "user caddy (uid 1000)".
func User() string {
	return fmt.Sprintf("user %s (uid %d)", Name(), os.Geteuid())
}

// Name is the name of the user this process runs as, or its uid when the
// system has no name for it (a container's arbitrary uid).
func Name() string {
	uid := strconv.Itoa(os.Geteuid())
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return uid
}
