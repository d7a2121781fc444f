//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// readFile reads what os.ReadFile reads, at every size around its first
// read's and past it, and fails as it does on a missing path and a
// directory.
func TestReadFileReadsAsOSReadFile(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 1023, 1024, 1025, 2048, 70_000} {
		p := filepath.Join(dir, "f")
		data := bytes.Repeat([]byte{byte(n)}, n)
		data = append(data[:max(n-1, 0)], []byte("!")[:min(n, 1)]...)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readFile(p)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: read %d bytes, %v", n, len(got), err)
		}
	}
	if _, err := readFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v, want ErrNotExist", err)
	}
	if _, err := readFile(dir); !errors.Is(err, syscall.EISDIR) {
		t.Fatalf("a directory: %v, want EISDIR", err)
	}
}

// putFile writes the whole value under its name, synced or not, makes the
// directories it needs, and leaves no temporary file; over a directory it
// fails and leaves the directory as it was.
func TestPutFileReplacesWholeFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	p := filepath.Join(dir, "key")
	if made, err := putFile(p, []byte("first"), false); err != nil || !made {
		t.Fatalf("first put: made dirs %v, %v", made, err)
	}
	if made, err := putFile(p, []byte("second, longer"), true); err != nil || made {
		t.Fatalf("second put: made dirs %v, %v", made, err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "second, longer" {
		t.Fatalf("read back %q, %v", b, err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(sub, "inner"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := putFile(sub, []byte("x"), false); err == nil {
		t.Fatal("a put over a directory succeeded")
	}
	if info, err := os.Stat(filepath.Join(sub, "inner")); err != nil || !info.IsDir() {
		t.Fatalf("the directory after the put: %v, %v", info, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 2 {
		t.Fatalf("left in the directory: %v, want key and sub", left)
	}
}

// A claim renamed back over an empty directory made in its place since
// puts the claimed directory back (os.Rename would refuse and strand it
// under its claim's name).
func TestRenameFileReplacesAnEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	from, to := filepath.Join(dir, "from"), filepath.Join(dir, "to")
	if err := os.MkdirAll(filepath.Join(from, "inner"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(to, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := renameFile(from, to); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(to, "inner")); err != nil {
		t.Fatal(err)
	}
	var le *os.LinkError
	if err := renameFile(from, to); !errors.As(err, &le) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("renaming what is gone: %v, want a LinkError of ErrNotExist", err)
	}
}
