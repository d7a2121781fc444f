// Package procgroup stops a child process that runs in a process group of
// its own (started with Setpgid), together with whatever it started: the
// programs the tests start (internal/testproc) and the demo's stock site.
package procgroup

import (
	"syscall"
	"time"
)

// Stop ends the process group pgid, whose leader's end closes done: a
// SIGTERM, then a SIGKILL if the leader is still there after grace, and a
// SIGKILL to the group at the end for anything the leader left in it.
// It returns once the leader has ended.
func Stop(pgid int, done <-chan struct{}, grace time.Duration) {
	select {
	case <-done:
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}
