package installer_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/installer"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

func TestDebianVersion(t *testing.T) {
	for release, want := range map[string]string{
		"v1.2.0": "1.2.0", "1.2.0-rc1": "1.2.0-rc1", "537baea-dirty": "0~git537baea.dirty", "dev": "0~gitdev", "v1.2.0-3-g537baea": "1.2.0-3-g537baea",
	} {
		if got := installer.DebianVersion(release); got != want {
			t.Errorf("DebianVersion(%q) = %q, want %q", release, got, want)
		}
	}
}

// TestDebianPackage builds the Debian package from freshly built
// binaries, installs it with dpkg on this machine and removes it again:
// the binaries answer from /usr/bin, every user's service unit (trusting
// her CA before it starts) and the tray's autostart entry are in place and
// the unit is enabled for every user where systemctl is there; after
// dpkg -r nothing of it is left. It needs root and dpkg, and refuses to
// touch a scanfree package this machine already has.
func TestDebianPackage(t *testing.T) {
	testutil.NeedTools(t, "dpkg-deb", "dpkg")
	if os.Geteuid() != 0 {
		msg := "installing a package needs root; run as root (CI does) to run this test"
		if testutil.RequireE2E() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if exec.Command("dpkg", "-s", installer.DebianPackage).Run() == nil {
		t.Fatalf("this machine has the %s package installed; this test would replace and remove it: remove it first (dpkg -r %s)",
			installer.DebianPackage, installer.DebianPackage)
	}
	bin := t.TempDir()
	for _, pkg := range []string{"./cmd/scanfreed", "./cmd/scanfree-tray"} {
		b, err := os.ReadFile(testutil.Build(t, pkg))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(bin, filepath.Base(pkg)), b, 0o755)
	}
	deb := filepath.Join(t.TempDir(), "scanfree.deb")
	if err := installer.BuildDeb(context.Background(), installer.DebOptions{Bin: bin, Version: "v9.9.9", Arch: "amd64", Out: deb}); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if info := run("dpkg-deb", "--field", deb, "Package", "Version", "Architecture"); !strings.Contains(info, "Version: 9.9.9") {
		t.Fatalf("the package's fields:\n%s", info)
	}

	t.Cleanup(func() { exec.Command("dpkg", "--purge", installer.DebianPackage).Run() })
	run("dpkg", "-i", deb)
	if v := run("/usr/bin/scanfreed", "--version"); !strings.HasPrefix(v, "scanfreed ") {
		t.Fatalf("the installed scanfreed says %q", v)
	}
	unit, err := os.ReadFile("/usr/lib/systemd/user/scanfreed.service")
	if err != nil || !strings.Contains(string(unit), "ExecStartPre=-/usr/bin/scanfreed certs install --system=no") ||
		!strings.Contains(string(unit), "ExecStart=/usr/bin/scanfreed run\n") {
		t.Fatalf("the user unit (%v):\n%s", err, unit)
	}
	if entry, err := os.ReadFile("/etc/xdg/autostart/scanfree-tray.desktop"); err != nil || !strings.Contains(string(entry), "Exec=/usr/bin/scanfree-tray\n") {
		t.Fatalf("the tray's autostart entry (%v):\n%s", err, entry)
	}
	const wants = "/etc/systemd/user/default.target.wants/scanfreed.service"
	_, systemctl := exec.LookPath("systemctl")
	if _, err := os.Lstat(wants); systemctl == nil && err != nil {
		t.Fatalf("the unit is not enabled for every user: %v", err)
	}

	run("dpkg", "-r", installer.DebianPackage)
	for _, p := range []string{"/usr/bin/scanfreed", "/usr/bin/scanfree-tray", "/usr/lib/systemd/user/scanfreed.service", wants} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is left after dpkg -r", p)
		}
	}
}
