//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package store

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"syscall"
)

// The file store opens, reads and writes its files by system calls on
// file descriptors, not through os.File. On Linux an os.File is offered to
// the runtime's poller when it is opened, which a regular file or a
// directory refuses: two fcntl calls to set O_NONBLOCK, an epoll_ctl that
// fails, two more to clear it. os.ReadFile then asks the file's size
// before it reads. A small file read that way costs ten system calls; read
// here, four (open, read, the read that meets its end, close). On a
// virtual machine each system call costs microseconds, and a login reads
// and writes several files. Only regular files and directories are opened
// this way: a read blocks its thread as os.File's does on such files.

// openFD opens name with flags and O_CLOEXEC, as os.OpenFile does.
func openFD(name string, flags int, perm uint32) (int, error) {
	for {
		fd, err := syscall.Open(name, flags|syscall.O_CLOEXEC, perm)
		switch {
		case err == nil:
			return fd, nil
		case !errors.Is(err, syscall.EINTR):
			return -1, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	}
}

// readFile returns what the file name holds, as os.ReadFile does; a
// directory's read fails with EISDIR.
func readFile(name string) ([]byte, error) {
	fd, err := openFD(name, syscall.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	// Most of the store's files (a token, a state, an envelope of a few
	// hundred bytes) fit the first read.
	buf := make([]byte, 0, 1024)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf))
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return nil, &fs.PathError{Op: "read", Path: name, Err: err}
		case n == 0:
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// writeFD writes all of data to fd.
func writeFD(fd int, name string, data []byte) error {
	for len(data) > 0 {
		n, err := syscall.Write(fd, data)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return &fs.PathError{Op: "write", Path: name, Err: err}
		}
		data = data[n:]
	}
	return nil
}

// syncFD syncs fd's file (or directory) to the disk.
func syncFD(fd int, name string) error {
	for {
		err := syscall.Fsync(fd)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, syscall.EINTR):
			return &fs.PathError{Op: "sync", Path: name, Err: err}
		}
	}
}

// renameFile renames old to new by rename(2) alone: os.Rename looks at new
// first, to refuse replacing a directory with a file, which rename(2)
// refuses too (EISDIR).
func renameFile(old, new string) error {
	for {
		err := syscall.Rename(old, new)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, syscall.EINTR):
			return &os.LinkError{Op: "rename", Old: old, New: new, Err: err}
		}
	}
}

// closeFD closes fd; a close that fails is reported, as os.File's Close does.
func closeFD(fd int, name string) error {
	if err := syscall.Close(fd); err != nil {
		return &fs.PathError{Op: "close", Path: name, Err: err}
	}
	return nil
}
