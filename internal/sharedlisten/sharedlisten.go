// Package sharedlisten finds the TCP addresses this process listens on
// that another process listens on too. Caddy binds its listeners with
// SO_REUSEPORT (for graceful reloads), so a second Caddy started with the
// same admin address or site address starts without an error, and the
// kernel then splits the connections between the two at random: admin
// calls, key rotations and logins reach either. The check reads the
// kernel's socket tables (/proc on Linux): no traffic, no waiting; where
// there are none it finds nothing.
package sharedlisten

import "strconv"

// Shared is one address this process shares with another.
type Shared struct {
	// Addr is the address both listen on, host:port.
	Addr string
	// Port is its port.
	Port int
	// PID is the other process, 0 when it cannot be told (another user's).
	PID int
	// UID is the user the other socket belongs to.
	UID int
	// Inode tells the other socket from any other.
	Inode uint64
}

// Key names s for telling it apart from others (one report each).
func (s Shared) Key() string { return s.Addr + "/" + strconv.FormatUint(s.Inode, 10) }
