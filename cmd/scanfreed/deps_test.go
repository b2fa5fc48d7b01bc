package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestDependencies keeps the binaries apart on every OS they build for:
// no GUI (tray) library and no backend package in scanfreed, no daemon,
// tray or desktop package in scanfree-server. The lists are read with the
// target's GOOS, so a dependency pulled in on one OS only is caught too.
func TestDependencies(t *testing.T) {
	const mod = "github.com/scanfree/scanfree/"
	gui := []string{"fyne.io/systray", "github.com/tadvi/systray", "github.com/getlantern/systray", mod + "tray"}
	rules := []struct {
		pkg    string
		forbid []string
	}{
		{"./cmd/scanfreed", append([]string{mod + "backend/"}, gui...)},
		{"./cmd/scanfree-server", append([]string{mod + "daemon/", "github.com/gen2brain/beeep", "github.com/godbus/dbus"}, gui...)},
	}
	root := testutil.ModuleRoot(t)
	for _, goos := range []string{"linux", "windows", "darwin"} {
		for _, r := range rules {
			t.Run(goos+"/"+strings.TrimPrefix(r.pkg, "./cmd/"), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, "go", "list", "-deps", r.pkg)
				cmd.Dir = root
				cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("go list -deps %s: %v", r.pkg, err)
				}
				for _, dep := range strings.Fields(string(out)) {
					for _, f := range r.forbid {
						if dep == strings.TrimSuffix(f, "/") || strings.HasPrefix(dep, f) {
							t.Errorf("%s depends on %s on %s", r.pkg, dep, goos)
						}
					}
				}
			})
		}
	}
}
