package main

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/certs"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// wine is a throwaway Wine prefix the Windows build runs in.
type wine struct {
	t   *testing.T
	env []string
}

// newWine makes a prefix with the stand-in bcryptprimitives.dll (see
// testdata/wine) and stops every process of it when the test ends.
func newWine(t *testing.T) *wine {
	t.Helper()
	testutil.NeedTools(t, "wine", "wineserver", "x86_64-w64-mingw32-gcc")
	prefix := t.TempDir()
	w := &wine{t: t, env: []string{"WINEPREFIX=" + prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=bcryptprimitives=n;mscoree,mshtml=", "DISPLAY="}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		testutil.Run(ctx, w.env, "", "wineserver", "-k")
		testutil.Run(ctx, w.env, "", "wineserver", "-w")
	})
	if out, errOut, err := w.run(2*time.Minute, "wineboot", "--init"); err != nil {
		t.Fatalf("wineboot --init: %v\n%s%s", err, out, errOut)
	}
	dll := filepath.Join(prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	if out, err := exec.Command("x86_64-w64-mingw32-gcc", "-shared", "-O2", "-o", dll,
		filepath.Join("testdata", "wine", "bcryptprimitives.c"), "-ladvapi32").CombinedOutput(); err != nil {
		t.Fatalf("build the stand-in bcryptprimitives.dll: %v\n%s", err, out)
	}
	return w
}

// run runs a program in the prefix.
func (w *wine) run(limit time.Duration, name string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	return testutil.Run(ctx, w.env, "", "wine", append([]string{name}, args...)...)
}

// reg is `reg query KEY` in the prefix: the key's values, "" without it.
func (w *wine) reg(key string) string {
	out, _, err := w.run(time.Minute, "reg", "query", key)
	if err != nil {
		return ""
	}
	return out
}

// crossBuild builds pkg for Windows (amd64) into dir.
func crossBuild(t *testing.T, pkg, dir string) string {
	t.Helper()
	exe := filepath.Join(dir, filepath.Base(pkg)+".exe")
	cmd := exec.Command("go", "build", "-o", exe, pkg)
	cmd.Dir = testutil.ModuleRoot(t)
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s for Windows: %v\n%s", pkg, err, out)
	}
	return exe
}

// TestWindowsBuildUnderWine runs the Windows build of scanfreed in Wine
// (Debian's, with a stand-in for the one DLL function it lacks): its
// version; the machine policy registry key, which a user's flag cannot
// override; the per-user autostart written into the prefix's registry and
// removed again; the local CA added to the current user's Root store and
// removed again, each read back with Wine's reg. What Wine cannot show
// yet: the daemon itself, whose control socket is AF_UNIX (Wine has none;
// the named pipe is to come), so no sign-in runs here.
func TestWindowsBuildUnderWine(t *testing.T) {
	w := newWine(t)
	dir := t.TempDir()
	exe := crossBuild(t, "./cmd/scanfreed", dir)
	state := filepath.Join(dir, "st") // Wine maps Z: to /
	winState := "Z:" + strings.ReplaceAll(state, "/", `\`)

	t.Run("version", func(t *testing.T) {
		out, errOut, err := w.run(time.Minute, exe, "--version")
		if err != nil || !strings.HasPrefix(out, "scanfreed ") {
			t.Fatalf("scanfreed.exe --version: %q %v %s", out, err, errOut)
		}
	})
	t.Run("the machine's policy key", func(t *testing.T) {
		const key = `HKLM\Software\Policies\scanfree`
		if _, errOut, err := w.run(time.Minute, "reg", "add", key, "/v", "backend_url", "/t", "REG_SZ", "/d", "https://id.corp.example", "/f"); err != nil {
			t.Fatalf("reg add: %v %s", err, errOut)
		}
		defer w.run(time.Minute, "reg", "delete", key, "/f")
		_, errOut, err := w.run(time.Minute, exe, "run", "--backend", "https://other.example", "--state-dir", winState)
		if err == nil || !strings.Contains(errOut, `backend_url is set for this machine in `+key+` (https://id.corp.example) and cannot be changed`) {
			t.Fatalf("run with another backend than the policy's: %v %s", err, errOut)
		}
	})
	t.Run("service install and uninstall", func(t *testing.T) {
		const run = `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`
		if out, errOut, err := w.run(time.Minute, exe, "service", "install", "--state-dir", winState); err != nil {
			t.Fatalf("service install: %v %s %s", err, out, errOut)
		}
		if got := w.reg(run); !strings.Contains(got, "scanfreed") || !strings.Contains(got, `run --state-dir "`+winState+`"`) {
			t.Fatalf("the Run key after install:\n%s", got)
		}
		if out, errOut, err := w.run(time.Minute, exe, "service", "uninstall", "--keep-certs", "--state-dir", winState); err != nil {
			t.Fatalf("service uninstall: %v %s %s", err, out, errOut)
		}
		if got := w.reg(run); strings.Contains(got, "scanfreed") {
			t.Fatalf("the Run key after uninstall:\n%s", got)
		}
	})
	t.Run("certs install and uninstall", func(t *testing.T) {
		if out, errOut, err := w.run(time.Minute, exe, "certs", "install", "--state-dir", winState); err != nil {
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
		if got := w.reg(root); !strings.Contains(got, thumb) {
			t.Fatalf("the Root store after certs install lacks %s:\n%s", thumb, got)
		}
		if out, errOut, err := w.run(time.Minute, exe, "certs", "uninstall", "--state-dir", winState); err != nil {
			t.Fatalf("certs uninstall: %v %s %s", err, out, errOut)
		}
		if got := w.reg(root); strings.Contains(got, thumb) {
			t.Fatalf("the Root store after certs uninstall still has %s", thumb)
		}
	})
}
