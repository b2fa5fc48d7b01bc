package main

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/certs"
	"github.com/scanfree/scanfree/internal/harness/winetest"
)

// TestWindowsBuildUnderWine runs the Windows build of scanfreed in Wine
// (Debian's, with a stand-in for the one DLL function it lacks): its
// version; the machine policy registry key, which a user's flag cannot
// override; the per-user autostart written into the prefix's registry and
// removed again; the local CA added to the current user's Root store and
// removed again, each read back with Wine's reg. The daemon itself runs
// in Wine in web's TestWindowsDaemonUnderWine.
func TestWindowsBuildUnderWine(t *testing.T) {
	w := winetest.New(t, "")
	dir := t.TempDir()
	exe := winetest.Build(t, "./cmd/scanfreed", dir)
	state := filepath.Join(dir, "st")
	winState := winetest.Path(state)

	t.Run("version", func(t *testing.T) {
		out, errOut, err := w.Run(time.Minute, exe, "--version")
		if err != nil || !strings.HasPrefix(out, "scanfreed ") {
			t.Fatalf("scanfreed.exe --version: %q %v %s", out, err, errOut)
		}
	})
	t.Run("the machine's policy key", func(t *testing.T) {
		const key = `HKLM\Software\Policies\scanfree`
		if _, errOut, err := w.Run(time.Minute, "reg", "add", key, "/v", "backend_url", "/t", "REG_SZ", "/d", "https://id.corp.example", "/f"); err != nil {
			t.Fatalf("reg add: %v %s", err, errOut)
		}
		defer w.Run(time.Minute, "reg", "delete", key, "/f")
		_, errOut, err := w.Run(time.Minute, exe, "run", "--backend", "https://other.example", "--state-dir", winState)
		if err == nil || !strings.Contains(errOut, `backend_url is set for this machine in `+key+` (https://id.corp.example) and cannot be changed`) {
			t.Fatalf("run with another backend than the policy's: %v %s", err, errOut)
		}
	})
	t.Run("service install and uninstall", func(t *testing.T) {
		const run = `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`
		if out, errOut, err := w.Run(time.Minute, exe, "service", "install", "--state-dir", winState); err != nil {
			t.Fatalf("service install: %v %s %s", err, out, errOut)
		}
		if got := w.Reg(run); !strings.Contains(got, "scanfreed") || !strings.Contains(got, `run --state-dir "`+winState+`"`) {
			t.Fatalf("the Run key after install:\n%s", got)
		}
		if out, errOut, err := w.Run(time.Minute, exe, "service", "uninstall", "--keep-certs", "--state-dir", winState); err != nil {
			t.Fatalf("service uninstall: %v %s %s", err, out, errOut)
		}
		if got := w.Reg(run); strings.Contains(got, "scanfreed") {
			t.Fatalf("the Run key after uninstall:\n%s", got)
		}
	})
	t.Run("certs install and uninstall", func(t *testing.T) {
		if out, errOut, err := w.Run(time.Minute, exe, "certs", "install", "--state-dir", winState); err != nil {
			t.Fatalf("certs install: %v %s %s", err, out, errOut)
		}
		// The root only: Windows writes the key file with a mode that
		// Linux's reading of it (rightly) refuses.
		b, err := os.ReadFile(certs.PathsIn(state).RootCert)
		block, _ := pem.Decode(b)
		if err != nil || block == nil {
			t.Fatalf("the root certificate: %v", err)
		}
		sum := sha1.Sum(block.Bytes)
		thumb := strings.ToUpper(hex.EncodeToString(sum[:]))
		const root = `HKCU\Software\Microsoft\SystemCertificates\Root\Certificates`
		if got := w.Reg(root); !strings.Contains(got, thumb) {
			t.Fatalf("the Root store after certs install lacks %s:\n%s", thumb, got)
		}
		if out, errOut, err := w.Run(time.Minute, exe, "certs", "uninstall", "--state-dir", winState); err != nil {
			t.Fatalf("certs uninstall: %v %s %s", err, out, errOut)
		}
		if got := w.Reg(root); strings.Contains(got, thumb) {
			t.Fatalf("the Root store after certs uninstall still has %s", thumb)
		}
	})
}
