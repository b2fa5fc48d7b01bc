package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/certs"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.Cleanup()
	os.Exit(code)
}

// home is a fresh user: its own HOME (and so its own NSS database) and
// state dir.
type home struct {
	t     *testing.T
	bin   string
	dir   string
	state string
}

func newHome(t *testing.T) *home {
	t.Helper()
	dir := t.TempDir()
	return &home{t: t, bin: testutil.Build(t, "./cmd/scanfreed"), dir: dir, state: filepath.Join(dir, "state")}
}

func (h *home) env() []string {
	return []string{"HOME=" + h.dir, "XDG_CONFIG_HOME=" + filepath.Join(h.dir, ".config")}
}

func (h *home) scanfreed(args ...string) string {
	h.t.Helper()
	out, errOut, err := testutil.Run(context.Background(), h.env(), "", h.bin, append(args, "--state-dir", h.state)...)
	if err != nil {
		h.t.Fatalf("scanfreed %v: %v\n%s%s", args, err, out, errOut)
	}
	return out
}

func (h *home) nssList() string {
	out, _ := exec.Command("certutil", "-L", "-d", "sql:"+filepath.Join(h.dir, ".pki", "nssdb")).CombinedOutput()
	return string(out)
}

func TestCertsInstallUninstallNSS(t *testing.T) {
	testutil.NeedTools(t, "certutil")
	h := newHome(t)
	out := h.scanfreed("certs", "install", "--system=no")
	if !strings.Contains(out, "trusted in the NSS database "+filepath.Join(h.dir, ".pki", "nssdb")) {
		t.Fatalf("install output: %s", out)
	}
	ca, err := certs.LoadCA(h.state)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.nssList(), ca.Cert.Subject.CommonName) {
		t.Fatalf("root not in the NSS db after install:\n%s", h.nssList())
	}
	var st struct {
		Exists bool
		Root   struct{ Cert, Key, SHA256 string }
		Leaf   struct{ Cert, Key, SHA256 string }
		Trust  []certs.Store `json:"trusted_in"`
	}
	json.Unmarshal([]byte(h.scanfreed("certs", "status", "--json")), &st)
	if !st.Exists || st.Root.SHA256 != certs.Fingerprint(ca.Cert) || st.Leaf.SHA256 == "" || len(st.Trust) != 1 || st.Trust[0].Kind != "nss" {
		t.Fatalf("status: %+v", st)
	}
	// Installing twice is harmless.
	h.scanfreed("certs", "install", "--system=no")

	out = h.scanfreed("certs", "uninstall")
	if !strings.Contains(out, "removed from the NSS database") {
		t.Fatalf("uninstall output: %s", out)
	}
	if l := h.nssList(); strings.Contains(l, "scanfree") {
		t.Fatalf("uninstall left a trace in the NSS db:\n%s", l)
	}
	left, _ := filepath.Glob(filepath.Join(h.state, "*"))
	if len(left) != 0 {
		t.Fatalf("uninstall left files: %v", left)
	}
	if out := h.scanfreed("certs", "status"); !strings.Contains(out, "no local CA") {
		t.Fatalf("status after uninstall: %s", out)
	}
}

// TestChromiumTrustsInstalledRoot loads a page from a TLS server with our
// leaf at https://scanfree.localhost:<port> in Debian's chromium whose only
// trust comes from `scanfreed certs install` into a fresh HOME's NSS db;
// after uninstall the same load fails with a certificate error.
func TestChromiumTrustsInstalledRoot(t *testing.T) {
	testutil.NeedTools(t, "certutil", "chromium")
	h := newHome(t)
	h.scanfreed("certs", "install", "--system=no")

	m := certs.NewManager(h.state, certs.DefaultDomain, nil, slog.New(slog.DiscardHandler))
	if _, err := m.Ensure(); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: m.GetCertificate})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!doctype html><title>scanfree-trusted</title><p>ok</p>")
	})}
	go srv.Serve(ln)
	defer srv.Close()
	url := fmt.Sprintf("https://%s:%d/", certs.DefaultDomain, ln.Addr().(*net.TCPAddr).Port)

	title, err := chromiumTitle(t, h, url)
	if err != nil || title != "scanfree-trusted" {
		t.Fatalf("with the root installed: title %q, err %v", title, err)
	}
	h.scanfreed("certs", "uninstall")
	if _, err := m.Ensure(); err != nil { // new CA, not trusted anywhere
		t.Fatal(err)
	}
	title, err = chromiumTitle(t, h, url)
	if err == nil || !strings.Contains(err.Error(), "ERR_CERT") {
		t.Fatalf("after uninstall: title %q, err %v; want a certificate error", title, err)
	}
}

// chromiumTitle opens url in a fresh headless chromium run as user h, with
// no certificate-error flags, and returns the page title.
func chromiumTitle(t *testing.T, h *home, url string) (string, error) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("chromium"),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Env(h.env()...),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		return "", err
	}
	return chromedp.Run(ctx, chromedp.Title())
}
