package peer

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"testing"
)

// TestParseProcTCP reads kernel tables (testdata, in the kernel's format
// on a little-endian machine) into addresses, states and owners.
func TestParseProcTCP(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("testdata holds a little-endian machine's tables")
	}
	for _, tt := range []struct {
		file string
		want []tcpEntry
	}{
		{"testdata/proc_net_tcp", []tcpEntry{
			{netip.MustParseAddrPort("127.0.0.1:13997"), netip.MustParseAddrPort("0.0.0.0:0"), "0A", 1000, "5303"},
			{netip.MustParseAddrPort("127.0.0.1:41668"), netip.MustParseAddrPort("127.0.0.1:13997"), "01", 65534, "7001"},
			{netip.MustParseAddrPort("127.0.0.1:13997"), netip.MustParseAddrPort("127.0.0.1:41668"), "01", 1000, "7002"},
		}},
		{"testdata/proc_net_tcp6", []tcpEntry{
			{netip.MustParseAddrPort("[::1]:13997"), netip.MustParseAddrPort("[::]:0"), "0A", 1000, "5304"},
			{netip.MustParseAddrPort("[::1]:49153"), netip.MustParseAddrPort("[::1]:13997"), "01", 1001, "8001"},
		}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var got []tcpEntry
			parseProcTCP(f, func(e tcpEntry) bool { got = append(got, e); return true })
			if len(got) != len(tt.want) {
				t.Fatalf("got %d entries, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("entry %d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestUnknownClientRefused: a connection whose client socket is not in
// the kernel's tables (gone, or hidden from us) is refused, not admitted.
func TestUnknownClientRefused(t *testing.T) {
	err := checkTCPPeer(netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("127.0.0.1:2"))
	if !errors.Is(err, errNoOwner) {
		t.Fatalf("unknown client: %v, want errNoOwner", err)
	}
}
