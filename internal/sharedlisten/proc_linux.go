package sharedlisten

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// maxProcs bounds the processes read to name the other socket's owner.
const maxProcs = 4096

// Find returns the TCP ports this process listens on, and those of its
// listening addresses that another socket, not this process's, listens on
// as well (the same address and port exactly, as SO_REUSEPORT shares them).
func Find() (listening map[int]bool, shared []Shared, err error) {
	ours, err := socketInodes("/proc/self/fd")
	if err != nil {
		return nil, nil, err
	}
	var listens []listen
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		l, err := readListens(table)
		if err != nil && !os.IsNotExist(err) {
			return nil, nil, err
		}
		listens = append(listens, l...)
	}
	mine := map[netip.AddrPort]bool{}
	listening = map[int]bool{}
	for _, l := range listens {
		if ours[l.inode] {
			mine[l.addr] = true
			listening[int(l.addr.Port())] = true
		}
	}
	var out []Shared
	for _, l := range listens {
		if mine[l.addr] && !ours[l.inode] {
			out = append(out, Shared{Addr: l.addr.String(), Port: int(l.addr.Port()), UID: l.uid, Inode: l.inode})
		}
	}
	if len(out) > 0 {
		owners := ownersOf(out)
		for i := range out {
			out[i].PID = owners[out[i].Inode]
		}
	}
	return listening, out, nil
}

// listen is one LISTEN row of a /proc/net/tcp table.
type listen struct {
	addr  netip.AddrPort
	uid   int
	inode uint64
}

// readListens reads the LISTEN rows (state 0A) of a /proc/net/tcp table.
func readListens(path string) ([]listen, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []listen
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" {
			continue
		}
		addr, err := parseAddr(fields[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		uid, err1 := strconv.Atoi(fields[7])
		inode, err2 := strconv.ParseUint(fields[9], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: malformed row %q", path, sc.Text())
		}
		out = append(out, listen{addr: addr, uid: uid, inode: inode})
	}
	return out, sc.Err()
}

// parseAddr reads the kernel's hex address: ADDR:PORT, where ADDR is 4 or
// 16 bytes written as 32-bit words in host (little-endian) order.
func parseAddr(s string) (netip.AddrPort, error) {
	host, port, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(host)
	p, perr := strconv.ParseUint(port, 16, 16)
	if !ok || err != nil || perr != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("malformed address %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	a, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(a.Unmap(), uint16(p)), nil
}

// socketInodes returns the inodes of the sockets among a process's open
// files (links socket:[N] in its fd folder).
func socketInodes(fdDir string) (map[uint64]bool, error) {
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, err
	}
	out := map[uint64]bool{}
	for _, e := range entries {
		link, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]"), 10, 64); err == nil {
			out[n] = true
		}
	}
	return out, nil
}

// ownersOf names the process holding each shared socket, where this
// process may read it (the same user, or root): at most maxProcs
// processes of the sockets' users are read.
func ownersOf(shared []Shared) map[uint64]int {
	want := map[uint64]bool{}
	uids := map[int]bool{}
	for _, s := range shared {
		want[s.Inode] = true
		uids[s.UID] = true
	}
	owners := map[uint64]int{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return owners
	}
	self := os.Getpid()
	read := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if st, err := os.Stat(filepath.Join("/proc", e.Name())); err != nil || !uids[ownerUID(st)] {
			continue
		}
		if read++; read > maxProcs {
			break
		}
		inodes, err := socketInodes(filepath.Join("/proc", e.Name(), "fd"))
		if err != nil {
			continue
		}
		for n := range inodes {
			if want[n] {
				owners[n] = pid
			}
		}
		if len(owners) == len(want) {
			break
		}
	}
	return owners
}

func ownerUID(st os.FileInfo) int {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid)
	}
	return -1
}
