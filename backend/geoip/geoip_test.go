package geoip_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/backend/geoip"
	"github.com/scanfree/scanfree/internal/harness/geotest"
)

func TestCountry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "country.mmdb")
	if err := geotest.Write(path, map[string]string{"192.0.2.0/24": "CN", "198.51.100.0/24": "US", "2001:db8::/32": "SG"}); err != nil {
		t.Fatal(err)
	}
	db, err := geoip.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for addr, want := range map[string]string{"192.0.2.7": "CN", "198.51.100.200": "US", "2001:db8::1": "SG", "::ffff:192.0.2.9": "CN",
		"203.0.113.1": "", "not an address": "", "": ""} {
		if got := db.Country(addr); got != want {
			t.Errorf("Country(%q) = %q, want %q", addr, got, want)
		}
	}
	notDB := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notDB, []byte("hello"), 0o600)
	if _, err := geoip.Open(notDB); err == nil || !strings.Contains(err.Error(), "Country or City") {
		t.Fatalf("a file that is no database: %v", err)
	}
}
