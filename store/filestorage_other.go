//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package store

import "github.com/caddyserver/certmagic"

// fileStorageWays has the store use the file storage's own locks and
// writes where flock(2) is not at hand.
func fileStorageWays(*certmagic.FileStorage) fileWays { return fileWays{} }
