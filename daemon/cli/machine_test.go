package cli

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestProfileValues reads managed preferences as a macOS configuration
// profile installs them (testdata: an XML one as an MDM writes it, with
// the profile's own Payload keys, and the same in binary form).
func TestProfileValues(t *testing.T) {
	for _, f := range []string{"com.scanfree.scanfreed.xml.plist", "com.scanfree.scanfreed.binary.plist"} {
		t.Run(f, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", f))
			if err != nil {
				t.Fatal(err)
			}
			v, err := profileValues(b)
			if err != nil {
				t.Fatal(err)
			}
			if v["backend_url"] != "https://id.example.com" || !slices.Equal(v["trusted_origins"].([]string), []string{"https://id.example.com", "https://login.example.com"}) ||
				v["no_dialog"] != "false" || v["port"] != "14013" || len(v) != 4 {
				t.Fatalf("values %v", v)
			}
		})
	}
	if _, err := profileValues([]byte("not a plist")); err == nil {
		t.Error("garbage was read as a profile")
	}
	if _, err := policyValues(map[string]any{"trusted_origins": []any{"https://a.example", 3}}); err == nil {
		t.Error("a list with a number was taken as origins")
	}
	if v, err := policyValues(map[string]any{"backend_url": "", "trusted_origins": "https://a.example"}); err != nil || len(v) != 1 {
		t.Errorf("an empty policy value set something: %v %v", v, err)
	}
}
