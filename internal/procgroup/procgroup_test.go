package procgroup

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// start runs script in sh, in a process group of its own, and returns
// its pid and a channel closed when it has ended.
func start(t *testing.T, script string) (int, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	return cmd.Process.Pid, done
}

// gone reports whether no process is left in group pgid.
func gone(pgid int) bool { return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) }

// TestStopEndsTheGroup: the leader ends on SIGTERM, and what it started
// in its group (a background sleep) ends with it.
func TestStopEndsTheGroup(t *testing.T) {
	pid, done := start(t, "sleep 300 & wait")
	Stop(pid, done, 10*time.Second)
	for i := 0; !gone(pid); i++ {
		if i == 100 {
			t.Fatal("a process of the group is still there")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStopKillsWhatIgnoresTERM: a leader that ignores SIGTERM is killed
// once the grace period is over.
func TestStopKillsWhatIgnoresTERM(t *testing.T) {
	pid, done := start(t, `trap "" TERM; while :; do sleep 1; done`)
	time.Sleep(100 * time.Millisecond) // the trap is set
	Stop(pid, done, 200*time.Millisecond)
	select {
	case <-done:
	default:
		t.Fatal("Stop returned before the leader ended")
	}
}
