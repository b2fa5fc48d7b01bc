package peer

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// tcpEntry is one socket of /proc/net/tcp or /proc/net/tcp6.
type tcpEntry struct {
	local, remote netip.AddrPort
	state         string // "01" established, "0A" listen, …
	uid           int
	inode         string
}

// scanProcTCP calls fn with each socket of /proc/net/tcp and tcp6; fn
// returns false to stop. Files that cannot be opened are skipped.
func scanProcTCP(fn func(tcpEntry) bool) {
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		file, err := os.Open(f)
		if err != nil {
			continue
		}
		more := parseProcTCP(file, fn)
		file.Close()
		if !more {
			return
		}
	}
}

// parseProcTCP reads one /proc/net/tcp{,6} table; it reports whether fn
// wanted more.
func parseProcTCP(r io.Reader, fn func(tcpEntry) bool) bool {
	sc := bufio.NewScanner(r)
	sc.Scan() // the header line
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		local, err1 := parseProcAddr(f[1])
		remote, err2 := parseProcAddr(f[2])
		uid, err3 := strconv.Atoi(f[7])
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		if !fn(tcpEntry{local: local, remote: remote, state: f[3], uid: uid, inode: f[9]}) {
			return false
		}
	}
	return true
}

// parseProcAddr decodes "0100007F:1F90": the address as the kernel's
// 32-bit words in host byte order, then the port in hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if !ok || err != nil || (len(hexAddr) != 8 && len(hexAddr) != 32) {
		return netip.AddrPort{}, fmt.Errorf("bad /proc/net/tcp address %q", s)
	}
	raw, err := hex.DecodeString(hexAddr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad /proc/net/tcp address %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// errNoOwner means the connection's client socket was not found.
var errNoOwner = errors.New("the connecting socket is not in /proc/net/tcp")

// tcpPeerUID returns the UID owning the client end of a loopback
// connection: the socket whose local address is the connection's remote
// one and whose remote address is ours.
func tcpPeerUID(local, remote netip.AddrPort) (int, error) {
	uid := -1
	scanProcTCP(func(e tcpEntry) bool {
		if e.local == remote && e.remote == local {
			uid = e.uid
			return false
		}
		return true
	})
	if uid < 0 {
		return -1, errNoOwner
	}
	return uid, nil
}
