package ldap

import (
	"bytes"
	"testing"
)

// TestGUID: Active Directory's objectGUID in its text form (the first
// three groups little-endian) and back, as a filter needs it.
func TestGUID(t *testing.T) {
	raw := []byte{0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	s := guidString(raw)
	if s != "12345678-9abc-def0-0123-456789abcdef" {
		t.Fatalf("guidString = %s", s)
	}
	back, err := guidBytes(s)
	if err != nil || !bytes.Equal(back, raw) {
		t.Fatalf("guidBytes = %x %v", back, err)
	}
	c := &Connector{cfg: Config{ActiveDirectory: true, UserSearch: UserSearch{ID: "objectGUID"}}}
	if f, err := c.idFilter(s); err != nil || f != `(objectGUID=\78\56\34\12\bc\9a\f0\de\01\23\45\67\89\ab\cd\ef)` {
		t.Fatalf("idFilter = %s %v", f, err)
	}
	for _, bad := range []string{"", "not-a-guid", "12345678-9abc-def0-0123"} {
		if _, err := guidBytes(bad); err == nil {
			t.Errorf("guidBytes(%q) accepted", bad)
		}
	}
}
