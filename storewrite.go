// Finding out at start whether Caddy's file storage can be written, and
// saying what to do when it cannot.

package outstatic

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/caddyserver/certmagic"
)

// checkStorageWritable writes and removes a probe file in the folder of
// s where the relay keeps its state (prefix), when s is Caddy's file
// storage. An error names the folder, the user Caddy runs as and the fix.
func checkStorageWritable(s certmagic.Storage, prefix string) error {
	fs, ok := s.(*certmagic.FileStorage)
	if !ok {
		return nil
	}
	dir := filepath.Join(fs.Path, prefix)
	err := os.MkdirAll(dir, 0o700)
	if err == nil {
		var f *os.File
		if f, err = os.CreateTemp(dir, ".write-probe-*"); err == nil {
			f.Close()
			err = os.Remove(f.Name())
		}
	}
	if err != nil {
		return fmt.Errorf("cannot write the relay's state in %s as %s: %w; "+
			"give that user the folder (chown -R %s %s), or point Caddy's storage at one it can write "+
			"(global option: storage file_system <folder>; or set XDG_DATA_HOME)",
			dir, processUser(), err, processUserName(), fs.Path)
	}
	return nil
}

// processUser is the user Caddy runs as, by name and uid.
func processUser() string {
	return fmt.Sprintf("user %s (uid %d)", processUserName(), os.Geteuid())
}

// processUserName is the name of the user Caddy runs as, or its uid when
// the system has no name for it (a container's arbitrary uid).
func processUserName() string {
	uid := strconv.Itoa(os.Geteuid())
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return uid
}
