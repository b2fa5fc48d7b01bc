package daemon

import (
	"slices"
	"strings"
	"testing"
)

// TestSetBackend: a signed-out daemon follows `login --backend`, its
// trusted origin with it unless trusted origins are set; the machine's
// configuration, when it sets the backend, is not overridden.
func TestSetBackend(t *testing.T) {
	for _, tc := range []struct {
		name        string
		cfg         Config
		wantErr     string
		wantOrigins []string
	}{
		{"default origins follow", Config{}, "", []string{"https://id.example.com"}},
		{"set origins stay", Config{TrustedOrigins: []string{"https://pages.example.net"}}, "", []string{"https://pages.example.net"}},
		{"the machine's backend", Config{BackendLocked: true}, "administrator", []string{"http://127.0.0.1:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.StateDir, tc.cfg.BackendURL = t.TempDir(), "http://127.0.0.1:1"
			d, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = d.SetBackend("https://id.example.com")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || d.idp.BackendURL() != "http://127.0.0.1:1" {
					t.Fatalf("SetBackend: %v, backend %s; want a refusal saying %q", err, d.idp.BackendURL(), tc.wantErr)
				}
			} else if err != nil || d.Status().Backend != "https://id.example.com" {
				t.Fatalf("SetBackend: %v, backend %s", err, d.Status().Backend)
			}
			if got := d.api.TrustedOrigins(); !slices.Equal(got, tc.wantOrigins) {
				t.Fatalf("trusted origins %v; want %v", got, tc.wantOrigins)
			}
		})
	}
}
