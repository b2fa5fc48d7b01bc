package peer

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// TestParseTCPOwnerTable reads tables laid out as Windows fills them.
func TestParseTCPOwnerTable(t *testing.T) {
	le := binary.LittleEndian
	// IPv4: one row, 127.0.0.1:41668 → 127.0.0.1:13997, PID 4242.
	v4 := make([]byte, 4+tcpRowV4Size)
	le.PutUint32(v4, 1)
	r := v4[4:]
	le.PutUint32(r[0:], 5) // ESTABLISHED
	copy(r[4:8], []byte{127, 0, 0, 1})
	binary.BigEndian.PutUint16(r[8:], 41668)
	copy(r[12:16], []byte{127, 0, 0, 1})
	binary.BigEndian.PutUint16(r[16:], 13997)
	le.PutUint32(r[20:], 4242)
	got, err := parseTCPOwnerTable(v4, false)
	want := tcpOwner{netip.MustParseAddrPort("127.0.0.1:41668"), netip.MustParseAddrPort("127.0.0.1:13997"), 4242}
	if err != nil || len(got) != 1 || got[0] != want {
		t.Fatalf("v4: %+v %v, want %+v", got, err, want)
	}
	// IPv6: [::1]:49153 → [::1]:13997, PID 7.
	v6 := make([]byte, 4+tcpRowV6Size)
	le.PutUint32(v6, 1)
	r = v6[4:]
	loop := netip.IPv6Loopback().As16()
	copy(r[0:16], loop[:])
	binary.BigEndian.PutUint16(r[20:], 49153)
	copy(r[24:40], loop[:])
	binary.BigEndian.PutUint16(r[44:], 13997)
	le.PutUint32(r[52:], 7)
	got, err = parseTCPOwnerTable(v6, true)
	want = tcpOwner{netip.MustParseAddrPort("[::1]:49153"), netip.MustParseAddrPort("[::1]:13997"), 7}
	if err != nil || len(got) != 1 || got[0] != want {
		t.Fatalf("v6: %+v %v, want %+v", got, err, want)
	}
	// A count larger than the rows is an error, not a read past the end.
	le.PutUint32(v4, 3)
	if _, err := parseTCPOwnerTable(v4, false); err == nil {
		t.Fatal("a table shorter than its count was read")
	}
	if _, err := parseTCPOwnerTable([]byte{1}, false); err == nil {
		t.Fatal("a table without a count was read")
	}
}
