package installer_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/installer"
	"github.com/scanfree/scanfree/internal/harness/testutil"
	"github.com/scanfree/scanfree/internal/harness/winetest"
)

func TestMSIVersion(t *testing.T) {
	for release, want := range map[string]string{
		"v1.2.3": "1.2.3", "1.2.3-rc1": "1.2.3", "v1.2.3-4-g537baea": "1.2.3", "537baea-dirty": "0.0.0", "dev": "0.0.0", "v256.0.0": "0.0.0",
	} {
		if got := installer.MSIVersion(release); got != want {
			t.Errorf("MSIVersion(%q) = %q, want %q", release, got, want)
		}
	}
}

// TestMSIUnderWine builds the MSI with wixl from freshly cross-built
// binaries and installs it with msiexec in a throwaway Wine prefix, as an
// IT team pushes it (/qn with BACKEND_URL): both programs in Program
// Files, both started at every logon from the machine's Run key, the
// backend URL as machine policy, which the installed daemon then holds
// against a user's --backend; msiexec /x leaves none of it. Installed
// without the property, no backend is set.
func TestMSIUnderWine(t *testing.T) {
	testutil.NeedTools(t, "wixl")
	w := winetest.New(t, "")
	bin := t.TempDir()
	winetest.Build(t, "./cmd/scanfreed", bin)
	winetest.Build(t, "./cmd/scanfree-tray", bin)
	msi := filepath.Join(t.TempDir(), "scanfree.msi")
	if err := installer.BuildMSI(context.Background(), installer.MSIOptions{Bin: bin, Version: "v9.9.9", Out: msi}); err != nil {
		t.Fatal(err)
	}
	const (
		policy = `HKLM\Software\Policies\scanfree`
		run    = `HKLM\Software\Microsoft\Windows\CurrentVersion\Run`
	)
	dir := filepath.Join(w.Dir, "drive_c", "Program Files", "scanfree")
	msiexec := func(args ...string) {
		t.Helper()
		if out, errOut, err := w.Run(2*time.Minute, "msiexec", args...); err != nil {
			t.Fatalf("msiexec %v: %v %s %s", args, err, out, errOut)
		}
	}
	installed := func() bool {
		_, err := os.Stat(filepath.Join(dir, "scanfreed.exe"))
		return err == nil
	}

	msiexec("/i", winetest.Path(msi), "/qn", "BACKEND_URL=https://id.corp.example")
	for _, exe := range []string{"scanfreed.exe", "scanfree-tray.exe"} {
		if _, err := os.Stat(filepath.Join(dir, exe)); err != nil {
			t.Errorf("after install: %v", err)
		}
	}
	if got := w.Reg(run); !strings.Contains(got, `"C:\Program Files\scanfree\scanfreed.exe" run`) || !strings.Contains(got, `"C:\Program Files\scanfree\scanfree-tray.exe"`) {
		t.Errorf("the machine's Run key after install:\n%s", got)
	}
	if got := w.Reg(policy); !strings.Contains(got, "https://id.corp.example") {
		t.Errorf("the policy key after install:\n%s", got)
	}
	_, errOut, err := w.Run(time.Minute, `C:\Program Files\scanfree\scanfreed.exe`, "run", "--backend", "https://other.example", "--state-dir", winetest.Path(t.TempDir()))
	if err == nil || !strings.Contains(errOut, "(https://id.corp.example) and cannot be changed") {
		t.Errorf("the installed daemon with another backend than the MSI's: %v %s", err, errOut)
	}

	msiexec("/x", winetest.Path(msi), "/qn")
	if installed() {
		t.Error("scanfreed.exe is still in Program Files after msiexec /x")
	}
	if got := w.Reg(run); strings.Contains(got, "scanfree") {
		t.Errorf("the machine's Run key after uninstall:\n%s", got)
	}
	if got := w.Reg(policy); strings.Contains(got, "backend_url") {
		t.Errorf("the policy key after uninstall:\n%s", got)
	}

	msiexec("/i", winetest.Path(msi), "/qn")
	if !installed() {
		t.Fatal("not installed without BACKEND_URL")
	}
	out, errOut, err := w.Run(time.Minute, `C:\Program Files\scanfree\scanfreed.exe`, "run", "--backend", "::bad", "--state-dir", winetest.Path(t.TempDir()))
	if strings.Contains(errOut, "cannot be changed") {
		t.Errorf("installed without BACKEND_URL, a backend is still set by policy: %v %s %s", err, out, errOut)
	}
	msiexec("/x", winetest.Path(msi), "/qn")
}
