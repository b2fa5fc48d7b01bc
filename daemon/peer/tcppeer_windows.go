package peer

import (
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/scanfree/scanfree/internal/owner"
)

var procGetExtendedTCPTable = windows.NewLazySystemDLL("iphlpapi.dll").NewProc("GetExtendedTcpTable")

const (
	tcpTableOwnerPIDAll   = 5   // TCP_TABLE_OWNER_PID_ALL
	errInsufficientBuffer = 122 // ERROR_INSUFFICIENT_BUFFER
)

// checkTCPPeer finds the process owning the client end of the connection
// in the TCP table (GetExtendedTcpTable) and admits it only when it runs
// as this daemon's user (its token's SID). A client it cannot find is
// refused: fail closed. Not exercised by CI, which has no Windows; the
// table's parsing is tested on every OS.
func checkTCPPeer(local, remote netip.AddrPort) error {
	af, v6 := uint32(windows.AF_INET), false
	if remote.Addr().Is6() {
		af, v6 = windows.AF_INET6, true
	}
	var size uint32
	var buf []byte
	for range 5 { // the table may grow between the size query and the read
		var p uintptr
		if len(buf) > 0 {
			p = uintptr(unsafe.Pointer(&buf[0]))
		}
		r, _, _ := procGetExtendedTCPTable.Call(p, uintptr(unsafe.Pointer(&size)), 0, uintptr(af), tcpTableOwnerPIDAll, 0)
		if r == 0 && len(buf) > 0 {
			break
		}
		if r != 0 && r != errInsufficientBuffer {
			return fmt.Errorf("read the TCP table: error %d", r)
		}
		buf = make([]byte, size)
	}
	rows, err := parseTCPOwnerTable(buf, v6)
	if err != nil {
		return err
	}
	for _, o := range rows {
		if o.local == remote && o.remote == local {
			same, err := owner.SameUser(o.pid)
			if err != nil {
				return fmt.Errorf("owner of %s (PID %d): %w", remote, o.pid, err)
			}
			if !same {
				return fmt.Errorf("the client (PID %d) runs as another user", o.pid)
			}
			return nil
		}
	}
	return fmt.Errorf("owner of %s unknown: not in the TCP table", remote)
}
