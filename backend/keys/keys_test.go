package keys

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

func TestStates(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ttl := time.Hour
	// k1 signed first; k2 was made at the same instant by a rotation and
	// takes over at t0+10m; k3 is the next rotation, not signing yet.
	keys := []storage.SigningKey{
		{KID: "k2", Alg: "RS256", CreatedAt: t0, SignFrom: t0.Add(10 * time.Minute)},
		{KID: "k1", Alg: "RS256", CreatedAt: t0, SignFrom: t0},
		{KID: "e1", Alg: "ES256", CreatedAt: t0, SignFrom: t0},
		{KID: "k3", Alg: "RS256", CreatedAt: t0.Add(time.Hour), SignFrom: t0.Add(3 * time.Hour)},
	}
	tests := []struct {
		at   time.Duration
		want map[string]string
	}{
		{time.Minute, map[string]string{"k1": "signing", "k2": "next", "e1": "signing", "k3": "next"}},
		{11 * time.Minute, map[string]string{"k1": "retired", "k2": "signing", "e1": "signing", "k3": "next"}},
		{71 * time.Minute, map[string]string{"k1": "expired", "k2": "signing", "e1": "signing", "k3": "next"}},
		{210 * time.Minute, map[string]string{"k1": "expired", "k2": "retired", "e1": "signing", "k3": "signing"}},
	}
	for _, tt := range tests {
		t.Run(tt.at.String(), func(t *testing.T) {
			for _, st := range states(keys, t0.Add(tt.at), ttl) {
				if st.Status != tt.want[st.KID] {
					t.Errorf("%s: %s, want %s", st.KID, st.Status, tt.want[st.KID])
				}
			}
		})
	}
}

func TestLoadDataKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data.key")
	if _, err := LoadDataKey(path, false); err == nil {
		t.Fatal("a missing key file without create was accepted")
	}
	k, err := LoadDataKey(path, true)
	if err != nil || len(k) != DataKeySize {
		t.Fatalf("create: %d bytes, %v", len(k), err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := LoadDataKey(path, true)
	if err != nil || string(again) != string(k) {
		t.Fatal("a second load made another key")
	}
	for name, content := range map[string]string{"short": "c2hvcnQ=\n", "not base64": "%%%\n", "empty": ""} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		if _, err := LoadDataKey(p, false); err == nil {
			t.Errorf("%s key file accepted", name)
		}
	}
}
