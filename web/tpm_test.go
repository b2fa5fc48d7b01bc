package web_test

import (
	"context"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/scanfree/scanfree/backend/storage/sqlite"
	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/swtpmtest"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestTPMKeyStaysOnItsComputer: a real scanfreed makes its proof key in a
// TPM (Debian's swtpm), the backend verifies it by credential activation
// against the TPM's endorsement key, and Demo Shop signs in scan-free in
// chromium. The daemon's whole state directory, copied to a second
// daemon with another TPM and another HOME, is good for nothing: the copy
// cannot prove the key, the backend refuses its credential, and the
// original keeps working. A software key's copy, the same way, works:
// the weakness the README's threat table states.
func TestTPMKeyStaysOnItsComputer(t *testing.T) {
	maker := swtpmtest.NewMaker(t)
	here, elsewhere := maker.Start(t), maker.Start(t)
	w := newWorld(t, e2e.BackendOptions{Args: []string{"--tpm-ek-roots", maker.Roots}},
		e2e.DaemonOptions{Args: []string{"--no-dialog", "--tpm", here.Addr}})

	status := func(d *e2e.Daemon) control.Status {
		st, err := d.Control.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	testutil.Eventually(t, 20*time.Second, "the backend to verify the daemon's TPM key", func() bool {
		st := status(w.d)
		return st.KeyProtection == "tpm" && st.KeyVerified == "tpm"
	})
	if out, err := w.d.Scanfreed("status"); err != nil || !strings.Contains(out, "key:        tpm (held by this computer's TPM, which the backend verified") {
		t.Fatalf("scanfreed status: %q, %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(w.d.StateDir, "dpop-key.pem")); err == nil {
		t.Fatal("a software key file beside the TPM key")
	}
	// Its posture, read for real and signed by the TPM key, is the
	// backend's, and status shows it.
	if out, _ := w.d.Scanfreed("status"); !strings.Contains(out, "posture:    os: linux") || !strings.Contains(out, "disk encryption: ") {
		t.Fatalf("scanfreed status without the posture: %q", out)
	}
	st, err := sqlite.Open(context.Background(), w.b.DB)
	if err != nil {
		t.Fatal(err)
	}
	devs, err := st.ListDevices(context.Background(), "")
	st.Close()
	if err != nil || len(devs) != 1 || devs[0].KeyProtection != "tpm" || !strings.Contains(devs[0].Posture, `"os":"linux"`) {
		t.Fatalf("the backend's desktops: %+v, %v; want one, tpm, with its posture", devs, err)
	}

	br := e2e.NewBrowser(t, w.home)
	fctx, opts := openLogin(t, w, br)
	continueAs(t, br, fctx, opts)
	if err := w.d.Control.Approve(t.Context(), w.d.AwaitPending().ID); err != nil {
		t.Fatal(err)
	}
	if nick := signedInAs(t, br, w.shop.URL); nick != "Alice" {
		t.Fatalf("signed in as %q", nick)
	}

	copied := copyStateDir(t, w.d.StateDir)
	thief := e2e.StartDaemonIn(t, w.b, copied, e2e.DaemonOptions{Args: []string{"--no-dialog", "--tpm", elsewhere.Addr},
		Env: []string{"HOME=" + t.TempDir()}})
	if cl := thief.CheckLogin(w.b); cl.ErrCode == 0 || cl.JSData.AuthorizeUUID != "" {
		t.Fatalf("the copy's check-login: %s; want a refusal (the page shows the QR code)", cl.Body)
	}
	if st := status(thief); !strings.Contains(st.KeyProblem, "another TPM") {
		t.Fatalf("the copy's status: key problem %q", st.KeyProblem)
	}
	if out, _ := thief.Scanfreed("status"); !strings.Contains(out, "key:        unusable") {
		t.Fatalf("the copy's scanfreed status: %q", out)
	}
	cred, err := os.ReadFile(filepath.Join(copied, "credential"))
	if err != nil {
		t.Fatalf("the copied credential (the test runs without a keyring): %v", err)
	}
	if a := bearerMe(t, w.b, strings.TrimSpace(string(cred))); a != 401 {
		t.Fatalf("the copied credential sent as a bearer token: %d; want 401", a)
	}
	signInOverAPI(t, w.d, w.b, "the original after the copy's attempts")

	// The software fallback: the same copy works.
	soft := e2e.StartDaemon(t, w.b, e2e.DaemonOptions{Args: []string{"--no-dialog", "--tpm", "off"}})
	soft.SignIn(w.b, "bob")
	if st := status(soft); st.KeyProtection != "software" {
		t.Fatalf("--tpm off: key %q", st.KeyProtection)
	}
	softCopy := e2e.StartDaemonIn(t, w.b, copyStateDir(t, soft.StateDir), e2e.DaemonOptions{Args: []string{"--no-dialog", "--tpm", "off"},
		Env: []string{"HOME=" + t.TempDir()}})
	signInOverAPI(t, softCopy, w.b, "a copy of a software key's state dir (the stated weakness)")
}

// copyStateDir copies a daemon's state directory, its files as they are
// (not its socket), to a new short-named directory, as a backup or a
// copied home folder would carry it to another computer.
func copyStateDir(t *testing.T, src string) string {
	t.Helper()
	root, err := os.MkdirTemp("", "sf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	dst := filepath.Join(root, "st")
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm())
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// bearerMe calls the device API's /me with cred as a bearer token, as
// whoever copied it would, and returns the status.
func bearerMe(t *testing.T, b *e2e.Backend, cred string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", b.URL+deviceapi.PathMe, nil)
	req.Header.Set("Authorization", "Bearer "+cred)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// signInOverAPI signs in to Demo Shop through d as the hosted page does
// (check-login, then authorize), approved through the control API, and
// checks that the redirect carries a code.
func signInOverAPI(t *testing.T, d *e2e.Daemon, b *e2e.Backend, what string) {
	t.Helper()
	cl := d.CheckLogin(b)
	if cl.ErrCode != 0 || cl.JSData.AuthorizeUUID == "" {
		t.Fatalf("%s: check-login %s", what, cl.Body)
	}
	res := make(chan e2e.Response, 1)
	go func() { res <- d.Post("/api/authorize", e2e.AuthorizeBody(b.App.AppID, cl.JSData.AuthorizeUUID)) }()
	if err := d.Control.Approve(t.Context(), d.AwaitPending().ID); err != nil {
		t.Fatal(err)
	}
	if r := <-res; r.ErrCode != 0 || !strings.Contains(string(r.Body), "code=") {
		t.Fatalf("%s: authorize %s", what, r.Body)
	}
}

// TestDevicePolicyOnThePage: Demo Shop requires a TPM-held key; a desktop
// whose key is in software gets no "Continue as Alice" but the QR code and
// the reason, in chromium.
func TestDevicePolicyOnThePage(t *testing.T) {
	w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog", "--tpm", "off"}})
	w.b.CLI("", "app", "edit", w.b.App.AppID, "--require-key", "tpm")
	br := e2e.NewBrowser(t, w.home)
	fctx, opts := openLogin(t, w, br)
	e2e.Run(br, fctx, "the QR code", chromedp.WaitVisible(chromedp.CSS("#qrimg"), opts...))
	var txt string
	testutil.Eventually(t, 10*time.Second, "the page's reason", func() bool {
		c, cancel := context.WithTimeout(fctx, 2*time.Second)
		defer cancel()
		txt, _ = chromedp.Run(c, chromedp.Text(chromedp.CSS("#status"), opts...))
		return strings.Contains(txt, "Demo Shop needs this computer to sign in with a key held by its TPM")
	})
	br.Screenshot("device-policy")
	if hidden := e2e.Run(br, fctx, "the Continue section", chromedp.JavascriptAttribute[bool](chromedp.CSS("#fast"), "hidden", opts...)); !hidden {
		t.Fatalf("the page offers Continue as Alice beside %q", txt)
	}
}
