package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// Browser is Debian's chromium, headless, for one person: its own HOME
// (so its own NSS database, trusting what `scanfreed certs install` put
// there) and profile. No certificate-error flag is ever passed.
type Browser struct {
	t    testing.TB
	Ctx  context.Context
	Home string
	shot string // screenshot directory
	mu   sync.Mutex
	n    int
}

// NewBrowser starts chromium for the user whose home is home, with extra
// flags if any. Screenshots go to $SCANFREE_SCREENSHOTS/<test> or the
// test's temp dir.
func NewBrowser(t testing.TB, home string, extra ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	testutil.NeedTools(t, "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("chromium"),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Frames run in the page's process so tests can reach into the login
		// iframe; attaching to out-of-process frames races their load events.
		// This is the process model only: TLS, CORS and navigation rules are
		// unchanged, and no certificate check is ever relaxed.
		chromedp.Flag("disable-site-isolation-trials", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints,IsolateOrigins,site-per-process"),
		chromedp.WindowSize(1100, 800),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Env(append([]string{"HOME=" + home}, testutil.NoSessionBus...)...),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), append(opts, extra...)...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	dir := os.Getenv("SCANFREE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
	os.MkdirAll(dir, 0o755)
	return &Browser{t: t, Ctx: ctx, Home: home, shot: dir}
}

// Run runs one action with a deadline and fails the test on error.
func Run[T any](b *Browser, ctx context.Context, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		shot := b.Screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v (screenshot: %s)", what, err, shot)
	}
	return v
}

// Screenshot saves the page as step N-name.png.
func (b *Browser) Screenshot(name string) string {
	b.mu.Lock()
	b.n++
	n := b.n
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(b.shot, fmt.Sprintf("%02d-%s.png", n, name))
	os.WriteFile(path, png, 0o644)
	return path
}

// LoginFrame returns a context for the hosted login page inside the
// current page's iframe, whether chromium runs it in-process or as its own
// target (site isolation).
func (b *Browser) LoginFrame() (context.Context, []chromedp.QueryOption) {
	b.t.Helper()
	var ctx context.Context
	var opts []chromedp.QueryOption
	testutil.Eventually(b.t, 20*time.Second, "the login iframe", func() bool {
		infos, err := chromedp.Targets(b.Ctx)
		if err != nil {
			return false
		}
		for _, ti := range infos {
			if ti.Type == "iframe" && strings.Contains(ti.URL, "/connect/qrconnect") {
				ctx, _ = chromedp.NewContext(b.Ctx, chromedp.WithTargetID(ti.TargetID))
				// The first Run attaches the session for the life of its context:
				// it must not carry a deadline.
				_, err := chromedp.Run(ctx, chromedp.WaitReady(chromedp.CSS("body")))
				return err == nil
			}
		}
		qctx, cancel := context.WithTimeout(b.Ctx, 2*time.Second)
		defer cancel()
		nodes, err := chromedp.Run(qctx, chromedp.Nodes(chromedp.CSS("iframe")))
		if err != nil || len(nodes) == 0 || nodes[0].ContentDocument == nil || // an in-process frame, already on the login page
			!strings.Contains(nodes[0].ContentDocument.DocumentURL, "/connect/qrconnect") {
			return false
		}
		// The node is a snapshot: use it only once the page's own elements
		// answer through it, else look again.
		from := []chromedp.QueryOption{chromedp.FromNode(nodes[0])}
		if _, err := chromedp.Run(qctx, chromedp.WaitReady(chromedp.CSS("#status"), from...)); err != nil {
			return false
		}
		ctx, opts = b.Ctx, from
		return true
	})
	return ctx, opts
}
