package main_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestVersion: every binary says which build it is (--version, and
// `version` for the two with commands); the running daemon says it in
// its status and its log at start, and `doctor` compares it with its own.
func TestVersion(t *testing.T) {
	b := e2e.StartBackend(t)
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	want, err := d.Scanfreed("version")
	if err != nil {
		t.Fatal(err)
	}
	want = strings.TrimSpace(strings.TrimPrefix(want, "scanfreed "))
	if !strings.Contains(want, "go1.") {
		t.Fatalf("scanfreed version says %q", want)
	}
	for _, bin := range []struct{ pkg, name string }{
		{"./cmd/scanfreed", "scanfreed"}, {"./cmd/scanfree-server", "scanfree-server"}, {"./cmd/scanfree-tray", "scanfree-tray"},
		{"./cmd/scanfree-demo", "scanfree-demo"}, {"./cmd/scanfree-demo-app", "scanfree-demo-app"}, {"./cmd/scanfree-bench", "scanfree-bench"},
	} {
		t.Run(bin.name, func(t *testing.T) {
			out, errOut, err := testutil.Run(context.Background(), nil, "", testutil.Build(t, bin.pkg), "--version")
			if err != nil || strings.TrimSpace(out) != bin.name+" "+want {
				t.Fatalf("%s --version: %q %v %s; want %q", bin.name, out, err, errOut, bin.name+" "+want)
			}
		})
	}
	out, err := d.Scanfreed("status", "--json")
	var st control.Status
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.Version != want {
		t.Fatalf("status says version %q (%v), want %q", st.Version, err, want)
	}
	if log := d.Proc.Stderr.String(); !strings.Contains(log, `"version":"`+want+`"`) {
		t.Fatalf("the daemon's log at start does not name its version:\n%s", log)
	}
	if out, _ := d.Scanfreed("doctor"); !strings.Contains(out, "[ok  ] version") {
		t.Fatalf("doctor:\n%s", out)
	}
}
