package web_test

import (
	"os"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/internal/e2e"
	"github.com/scanfree/scanfree/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.Cleanup()
	os.Exit(code)
}

// world is the whole system on one machine, as `make demo` runs it: the
// backend, a daemon signed in as alice whose CA the browser's NSS database
// trusts, and Demo Shop.
type world struct {
	b    *e2e.Backend
	d    *e2e.Daemon
	shop *e2e.Shop
	home string
}

func newWorld(t *testing.T, backend e2e.BackendOptions, daemon e2e.DaemonOptions) *world {
	testutil.NeedTools(t, "chromium", "certutil")
	w := &world{home: t.TempDir()}
	w.b = e2e.StartBackendWith(t, backend)
	w.d = e2e.StartDaemon(t, w.b, daemon)
	w.d.SignIn(w.b, "alice")
	_, errOut, err := testutil.Run(t.Context(), []string{"HOME=" + w.home}, "", w.d.Bin, "certs", "install", "--system=no", "--state-dir", w.d.StateDir)
	if err != nil {
		t.Fatalf("certs install: %v %s", err, errOut)
	}
	w.shop = e2e.StartShop(t, w.b)
	return w
}

func TestExperiment(t *testing.T) {
	w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	br := e2e.NewBrowser(t, w.home)
	e2e.Run(br, br.Ctx, "open shop", chromedp.Navigate(w.shop.URL))
	e2e.Run(br, br.Ctx, "click sign in", chromedp.Click(chromedp.CSS("#signin")))
	fctx, opts := br.LoginFrame()
	e2e.Run(br, fctx, "continue visible", chromedp.WaitVisible(chromedp.CSS("#continue"), opts...))
	txt := e2e.Run(br, fctx, "continue text", chromedp.Text(chromedp.CSS("#continue"), opts...))
	t.Logf("button: %q frame-opts=%d", txt, len(opts))
	t.Logf("screenshot %s", br.Screenshot("continue"))
}
