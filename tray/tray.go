package tray

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"fyne.io/systray"

	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/internal/version"
)

// Options of the tray.
type Options struct {
	StateDir  string // the daemon's state dir, as the CLI takes it
	Socket    string // its control socket (default from StateDir)
	Scanfreed string // the scanfreed binary, to start the daemon and run diagnostics
	Logger    *slog.Logger
}

type app struct {
	opts   Options
	client *control.Client
	log    *slog.Logger
	ctx    context.Context

	mu   sync.Mutex
	view View
	st   control.Status

	// ui serialises menu updates with quitting: systray closes its DBus
	// connection on Quit, and an update after that would panic.
	ui     sync.Mutex
	closed bool

	account, pause, resume, pending, allow, deny, recent, signIn, signOut, accountPage, doctor, about, start, quitItem *systray.MenuItem
	recents                                                                                                            []*systray.MenuItem

	// What apps' device policies would refuse this desktop for; each
	// warning is also told once as a notification.
	warning  *systray.MenuItem
	warnings []*systray.MenuItem
	warned   map[string]bool

	// Desktop apps the person allowed, each item forgets its app.
	apps      *systray.MenuItem
	appItems  []*systray.MenuItem
	appList   []control.AppConsent
	appsDirty chan struct{} // a status changed: read the list again
	forget    chan int      // the index of a clicked app item
}

// Run shows the tray until ctx ends or the user picks Quit. It fails at
// once, with the reason, where no tray can live (no session bus).
func Run(ctx context.Context, opts Options) error {
	if err := checkBus(); err != nil {
		return fmt.Errorf("cannot show the tray: %w", err)
	}
	if opts.Socket == "" {
		opts.Socket = control.DefaultSocket(opts.StateDir)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Scanfreed == "" {
		opts.Scanfreed = "scanfreed"
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a := &app{opts: opts, client: control.NewClient(opts.Socket), log: opts.Logger, ctx: ctx}
	go func() {
		<-ctx.Done()
		a.quit()
	}()
	systray.Run(a.ready, cancel)
	return nil
}

// quit stops further menu updates, then asks systray to end.
func (a *app) quit() {
	a.ui.Lock()
	defer a.ui.Unlock()
	if !a.closed {
		a.closed = true
		systray.Quit()
	}
}

func (a *app) ready() {
	a.account = systray.AddMenuItem("…", "")
	a.account.Disable()
	systray.AddSeparator()
	a.warning = systray.AddMenuItem("Some apps will not take this computer", "Their device policies refuse it; each line says what to fix")
	for range maxWarnings {
		m := a.warning.AddSubMenuItem("", "")
		m.Disable()
		a.warnings = append(a.warnings, m)
	}
	a.warning.Hide()
	a.pause = systray.AddMenuItem("Pause for 1 hour", "Send every page to the QR code for an hour")
	a.resume = systray.AddMenuItem("Resume", "Offer scan-free login again")
	a.pending = systray.AddMenuItem("", "A web page asks to sign in")
	a.allow = a.pending.AddSubMenuItem("Allow", "")
	a.deny = a.pending.AddSubMenuItem("Deny", "")
	a.recent = systray.AddMenuItem("Recent sign-ins", "")
	for range maxRecent {
		m := a.recent.AddSubMenuItem("", "")
		m.Disable()
		a.recents = append(a.recents, m)
	}
	a.apps = systray.AddMenuItem("Desktop apps", "Programs on this computer you allowed to sign you in; click one to forget it")
	a.appsDirty, a.forget = make(chan struct{}, 1), make(chan int)
	for i := range maxApps {
		m := a.apps.AddSubMenuItem("", "Forget this app: its next sign-in asks you again")
		a.appItems = append(a.appItems, m)
		go func() {
			for {
				select {
				case <-a.ctx.Done():
					return
				case <-m.ClickedCh:
					select {
					case a.forget <- i:
					case <-a.ctx.Done():
						return
					}
				}
			}
		}()
	}
	a.apps.Hide()
	systray.AddSeparator()
	a.signIn = systray.AddMenuItem("Sign in…", "Sign this desktop in; opens the approval page")
	a.signOut = systray.AddMenuItem("Sign out", "Sign this desktop out")
	a.accountPage = systray.AddMenuItem("Open account page", "")
	a.doctor = systray.AddMenuItem("Run diagnostics", "Check everything scan-free login needs")
	a.about = systray.AddMenuItem("About scanfree", "The versions of the tray and the daemon")
	a.start = systray.AddMenuItem("Start scanfreed", "Start the daemon")
	systray.AddSeparator()
	a.quitItem = systray.AddMenuItem("Quit", "Close the tray; the daemon keeps running")
	go func() {
		if err := waitExported(a.ctx); err != nil {
			a.log.Warn("tray", "err", err)
		}
		if why := hostMissing(); why != "" {
			a.log.Warn("tray icon hidden", "why", why)
			if err := notify("scanfree's tray icon is hidden", why); err != nil {
				a.log.Warn("tray: could not show a notification", "err", err)
			}
		}
		a.apply(ViewOf(control.Status{}, false), control.Status{})
		a.follow()
	}()
	go a.clicks()
	go a.followApps()
}

// followApps reads the allowed desktop apps again after status changes
// (a sign-in may have allowed one), at most every 2 seconds.
func (a *app) followApps() {
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-a.appsDirty:
		}
		list, err := a.client.Apps(a.ctx)
		if err != nil {
			list = nil // signed out or not running: nothing to forget here
		}
		a.ui.Lock()
		if a.closed {
			a.ui.Unlock()
			return
		}
		a.mu.Lock()
		a.appList = list
		a.mu.Unlock()
		for i, m := range a.appItems {
			if i < len(list) {
				m.SetTitle(AppTitle(list[i]))
			}
			show(m, i < len(list))
		}
		show(a.apps, len(list) > 0)
		a.ui.Unlock()
		select {
		case <-a.ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

// appsChanged asks followApps to read the list again.
func (a *app) appsChanged() {
	select {
	case a.appsDirty <- struct{}{}:
	default:
	}
}

// follow applies the daemon's event stream; when the daemon goes away the
// tray says so and reconnects as soon as it is back.
func (a *app) follow() {
	backoff := 250 * time.Millisecond
	for a.ctx.Err() == nil {
		events, err := a.client.Events(a.ctx)
		if err == nil {
			backoff = 250 * time.Millisecond
			for e := range events {
				a.apply(ViewOf(e.Status, true), e.Status)
			}
		}
		if a.ctx.Err() != nil {
			return // quitting: the stream ended because we did
		}
		a.apply(ViewOf(control.Status{}, false), control.Status{})
		select {
		case <-a.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func show(m *systray.MenuItem, on bool) {
	if on {
		m.Show()
	} else {
		m.Hide()
	}
}

func (a *app) apply(v View, st control.Status) {
	a.ui.Lock()
	defer a.ui.Unlock()
	if a.closed {
		return
	}
	a.mu.Lock()
	same := a.view.State == v.State && a.view.Title == v.Title && (a.view.Pending == nil) == (v.Pending == nil)
	a.view, a.st = v, st
	a.mu.Unlock()
	if !same {
		systray.SetIcon(IconOf(v))
		systray.SetTitle(v.Title)
		systray.SetTooltip(v.Title)
	}
	a.account.SetTitle(v.Account)
	show(a.pause, v.CanPause && v.State != NotRunning)
	show(a.resume, v.CanResume)
	show(a.signIn, v.CanSignIn)
	show(a.signOut, v.CanOut)
	show(a.start, v.CanStart)
	show(a.accountPage, v.State != NotRunning)
	if v.Pending != nil {
		a.pending.SetTitle(PendingTitle(*v.Pending))
	}
	show(a.pending, v.Pending != nil)
	show(a.warning, len(v.Warnings) > 0)
	for i, m := range a.warnings {
		if i < len(v.Warnings) {
			m.SetTitle(v.Warnings[i])
		}
		show(m, i < len(v.Warnings))
	}
	a.warnOnce(v.Warnings)
	show(a.recent, len(v.Recent) > 0)
	for i, m := range a.recents {
		if i < len(v.Recent) {
			m.SetTitle(v.Recent[i])
		}
		show(m, i < len(v.Recent))
	}
	a.appsChanged()
}

// warnOnce notifies each warning the first time the tray sees it, off
// the menu's lock (a notification service may be slow to answer).
func (a *app) warnOnce(warnings []string) {
	if a.warned == nil {
		a.warned = map[string]bool{}
	}
	var fresh []string
	for _, w := range warnings {
		if !a.warned[w] {
			a.warned[w] = true
			fresh = append(fresh, w)
		}
	}
	if len(fresh) == 0 {
		return
	}
	go func() {
		for _, w := range fresh {
			if err := notify("scanfree: an app will not take this computer", w); err != nil {
				a.log.Warn("tray: could not show a notification", "err", err)
			}
		}
	}()
}

func (a *app) current() (View, control.Status) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.view, a.st
}

// clicks turns menu clicks into control calls.
func (a *app) clicks() {
	for {
		var err error
		var what string // the menu item clicked
		select {
		case <-a.ctx.Done():
			return
		case <-a.pause.ClickedCh:
			what = "Pause"
			_, err = a.client.Pause(a.ctx, time.Hour)
		case <-a.resume.ClickedCh:
			what = "Resume"
			_, err = a.client.Resume(a.ctx)
		case <-a.allow.ClickedCh:
			what = "Allow"
			if v, _ := a.current(); v.Pending != nil {
				err = a.client.Approve(a.ctx, v.Pending.ID)
			}
		case <-a.deny.ClickedCh:
			what = "Deny"
			if v, _ := a.current(); v.Pending != nil {
				err = a.client.Deny(a.ctx, v.Pending.ID)
			}
		case <-a.signIn.ClickedCh:
			what = "Sign in"
			var l control.Login
			if l, err = a.client.Login(a.ctx); err == nil {
				err = openURL(l.VerificationURIComplete)
			}
		case <-a.signOut.ClickedCh:
			what = "Sign out"
			_, err = a.client.Logout(a.ctx)
		case <-a.accountPage.ClickedCh:
			what = "Open account page"
			_, st := a.current()
			err = openURL(strings.TrimSuffix(st.Backend, "/") + "/account")
		case <-a.doctor.ClickedCh:
			what = "Run diagnostics"
			err = a.diagnose()
		case <-a.about.ClickedCh:
			what = "About"
			err = a.showAbout()
		case <-a.start.ClickedCh:
			what = "Start scanfreed"
			err = a.startDaemon()
		case i := <-a.forget:
			what = "Forget"
			a.mu.Lock()
			var appID string
			if i < len(a.appList) {
				appID = a.appList[i].AppID
			}
			a.mu.Unlock()
			if appID != "" {
				err = a.client.ForgetApp(a.ctx, appID)
				a.appsChanged()
			}
		case <-a.quitItem.ClickedCh:
			a.quit()
			return
		}
		if err != nil {
			a.failed(what, err)
		}
	}
}

// failed tells the person that the menu item what did not work, and why:
// a desktop notification (the menu closes at once, so it cannot say it),
// and the log.
func (a *app) failed(what string, err error) {
	a.log.Warn("tray action failed", "action", what, "err", err)
	if nerr := notify("scanfree: "+what+" did not work", err.Error()); nerr != nil {
		a.log.Warn("tray: could not show a notification", "err", nerr)
	}
}

// diagnose runs `scanfreed doctor` and opens its report.
func (a *app) diagnose() error {
	out, _ := exec.CommandContext(a.ctx, a.opts.Scanfreed, "doctor", "--state-dir", a.opts.StateDir, "--socket", a.opts.Socket).CombinedOutput()
	return openText("scanfree-doctor-*.txt", out)
}

// showAbout opens the versions of this tray and of the running daemon.
func (a *app) showAbout() error {
	_, st := a.current()
	daemon := st.Version
	if daemon == "" {
		daemon = "not running, or too old to say"
	}
	return openText("scanfree-about-*.txt", []byte(aboutText(version.String(), daemon, st.Backend)))
}

// aboutText is what About says.
func aboutText(tray, daemon, backend string) string {
	return "scanfree: scan-free sign-in on this desktop\n\nscanfree-tray " + tray + "\nscanfreed     " + daemon +
		"\nsign-in service " + cmp.Or(backend, "none yet") + "\n"
}

// openText writes text to a new temporary file named like pattern and
// opens it with the desktop's viewer.
func openText(pattern string, text []byte) error {
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return err
	}
	f.Write(text)
	f.Close()
	return openReport(f.Name())
}

// startDaemon starts scanfreed through the service manager when it is
// installed as a service, else as a background process of this session.
func (a *app) startDaemon() error {
	if exec.Command(a.opts.Scanfreed, "service", "start", "--state-dir", a.opts.StateDir).Run() == nil {
		return nil
	}
	cmd := exec.Command(a.opts.Scanfreed, "run", "--state-dir", a.opts.StateDir, "--socket", a.opts.Socket)
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start scanfreed: %w", err)
	}
	go cmd.Wait()
	return nil
}
