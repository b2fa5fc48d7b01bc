package peer

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// tcpOwner is one row of Windows' TCP table with owning PIDs
// (MIB_TCPROW_OWNER_PID, MIB_TCP6ROW_OWNER_PID).
type tcpOwner struct {
	local, remote netip.AddrPort
	pid           uint32
}

// Row sizes of MIB_TCPTABLE_OWNER_PID and MIB_TCP6TABLE_OWNER_PID.
const (
	tcpRowV4Size = 24 // state, local addr, local port, remote addr, remote port, pid
	tcpRowV6Size = 56 // local addr[16], scope, port, remote addr[16], scope, port, state, pid
)

// parseTCPOwnerTable reads a table GetExtendedTcpTable filled
// (TCP_TABLE_OWNER_PID_ALL): a DWORD count, then the rows. DWORDs are in
// the machine's order; addresses and ports in network order. It lives
// apart from the Windows call so it is tested everywhere.
func parseTCPOwnerTable(b []byte, v6 bool) ([]tcpOwner, error) {
	if len(b) < 4 {
		return nil, errors.New("TCP table shorter than its count")
	}
	n := int(binary.LittleEndian.Uint32(b))
	size := tcpRowV4Size
	if v6 {
		size = tcpRowV6Size
	}
	b = b[4:]
	if n < 0 || n > len(b)/size {
		return nil, errors.New("TCP table shorter than its rows")
	}
	port := func(dw []byte) uint16 { return binary.BigEndian.Uint16(dw[:2]) }
	out := make([]tcpOwner, 0, n)
	for i := range n {
		r := b[i*size : (i+1)*size]
		var o tcpOwner
		if v6 {
			la, _ := netip.AddrFromSlice(r[0:16])
			ra, _ := netip.AddrFromSlice(r[24:40])
			o = tcpOwner{local: netip.AddrPortFrom(la, port(r[20:24])), remote: netip.AddrPortFrom(ra, port(r[44:48])),
				pid: binary.LittleEndian.Uint32(r[52:56])}
		} else {
			la, _ := netip.AddrFromSlice(r[4:8])
			ra, _ := netip.AddrFromSlice(r[12:16])
			o = tcpOwner{local: netip.AddrPortFrom(la, port(r[8:12])), remote: netip.AddrPortFrom(ra, port(r[16:20])),
				pid: binary.LittleEndian.Uint32(r[20:24])}
		}
		out = append(out, o)
	}
	return out, nil
}
