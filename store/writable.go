package store

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/caddy-outstatic/caddy-outstatic/internal/runas"
	"github.com/caddyserver/certmagic"
)

// CheckWritable writes and removes a probe file in the folder of s where
// the relay keeps its state (prefix), when s is Caddy's file storage;
// other storages answer for themselves. An error names the folder, the
// user Caddy runs as and the fix.
func CheckWritable(s certmagic.Storage, prefix string) error {
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
			dir, runas.User(), err, runas.Name(), fs.Path)
	}
	return nil
}
