package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/installer"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// tree lists every path below dir.
func tree(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if p != dir {
			out = append(out, strings.TrimPrefix(p, dir))
		}
		return nil
	})
	return out
}

func serviceEnv(home string) []string {
	return []string{"HOME=" + home, "XDG_CONFIG_HOME=", "SCANFREE_STATE_DIR=" + filepath.Join(home, ".config", "scanfree")}
}

// TestServiceInstallRoundTrip installs into a temporary HOME and
// uninstalls again: nothing is left behind, and --dry-run showed exactly
// what install did.
func TestServiceInstallRoundTrip(t *testing.T) {
	bin := testutil.Build(t, "./cmd/scanfreed")
	testutil.Build(t, "./cmd/scanfree-tray") // beside scanfreed, so install sets up its autostart
	home := t.TempDir()
	before := tree(t, home)
	run := func(args ...string) string {
		out, errOut, err := testutil.Run(context.Background(), serviceEnv(home), "", bin, args...)
		if err != nil {
			t.Fatalf("scanfreed %v: %v\n%s", args, err, errOut)
		}
		return out
	}

	var plan installer.Plan
	if err := json.Unmarshal([]byte(run("service", "install", "--dry-run", "--json")), &plan); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tree(t, home), before) {
		t.Fatal("--dry-run changed the home directory")
	}
	var did struct{ Report installer.Report }
	if err := json.Unmarshal([]byte(run("service", "install", "--json")), &did); err != nil {
		t.Fatal(err)
	}
	var planned []string
	for _, f := range plan.Files {
		planned = append(planned, f.Path)
		got, err := os.ReadFile(f.Path)
		if err != nil || string(got) != f.Content {
			t.Fatalf("%s on disk differs from the dry run: %v", f.Path, err)
		}
	}
	if !slices.Equal(planned, did.Report.Wrote) {
		t.Fatalf("dry run planned %v, install wrote %v", planned, did.Report.Wrote)
	}
	if !slices.EqualFunc(plan.Commands, did.Report.Ran, slices.Equal[[]string]) {
		t.Fatalf("dry run planned commands %v, install ran %v", plan.Commands, did.Report.Ran)
	}
	for _, want := range []string{".config/systemd/user/scanfreed.service", ".config/autostart/scanfree-tray.desktop"} {
		if !slices.Contains(tree(t, home), "/"+want) {
			t.Fatalf("install did not write ~/%s", want)
		}
	}
	if !strings.Contains(run("service", "status"), "logs: the user journal") {
		t.Fatal("status does not say where the logs are")
	}

	out := run("service", "uninstall")
	if !strings.Contains(out, "removed "+filepath.Join(home, ".config/systemd/user/scanfreed.service")) {
		t.Fatalf("uninstall does not say what it removed:\n%s", out)
	}
	if left := tree(t, home); !slices.Equal(left, before) {
		t.Fatalf("uninstall left %v behind", left)
	}
}
