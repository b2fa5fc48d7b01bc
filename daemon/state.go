package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/scanfree/scanfree/daemon/broker"
	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/daemon/dialog"
	"github.com/scanfree/scanfree/daemon/idp"
	"github.com/scanfree/scanfree/daemon/localapi"
	"github.com/scanfree/scanfree/internal/version"
)

// Status reports the daemon's state; it asks the backend nothing.
func (d *Daemon) Status() control.Status {
	lockState, lockDetail := d.lock.State()
	d.mu.Lock()
	st := control.Status{
		Paused:      d.paused,
		PausedUntil: d.pausedUntil,
		Lock:        string(lockState),
		LockDetail:  lockDetail,
		Backend:     d.idp.BackendURL(),
		Domain:      d.cfg.Domain,
		Port:        d.port,
		Listen:      append([]string{}, d.listen...),
		StateDir:    d.cfg.StateDir,
		Recent:      append([]control.SignIn{}, d.recent...),
		Version:     version.String(),
	}
	if d.cfg.NoDialog {
		st.Dialog = "off"
	} else if prog, err := dialog.Program(); err != nil {
		st.DialogProblem = err.Error()
	} else {
		st.Dialog = prog
	}
	if d.login != nil {
		l := *d.login
		st.Login = &l
	}
	d.mu.Unlock()
	st.SignedIn = d.idp.SignedIn()
	st.KeyProtection = d.idp.KeyProtection()
	if err := d.idp.KeyProblem(); err != nil {
		st.KeyProblem = err.Error()
	}
	if err := d.idp.TPMSkipped(); err != nil {
		st.TPMSkipped = err.Error()
	}
	st.KeyInKeychain = d.idp.InKeychain()
	if err := d.idp.KeychainSkipped(); err != nil {
		st.KeychainSkipped = err.Error()
	}
	if p, err := d.idp.Posture(); p != nil {
		st.Posture = []control.PostureSignal{{Name: "os", Value: p.OS + " " + p.OSVersion, How: p.OSName},
			{Name: "disk encryption", Value: p.DiskEncryption.Value, How: p.DiskEncryption.How},
			{Name: "screen lock", Value: p.ScreenLock.Value, How: p.ScreenLock.How},
			{Name: "Secure Boot", Value: p.SecureBoot.Value, How: p.SecureBoot.How}}
		if err != nil {
			st.PostureProblem = err.Error()
		}
	}
	if p, ok := d.idp.Cached(); ok && st.SignedIn {
		st.KeyVerified = p.KeyProtection
		st.PolicyWarnings = p.PolicyWarnings
		st.Account = &control.Account{Username: p.Username, Nickname: p.Nickname, HeadImgURL: p.HeadImgURL, DeviceName: p.DeviceName}
	}
	st.Ready = st.SignedIn && !st.Paused && lockState != "locked"
	if leaf := d.certs.Leaf(); leaf != nil {
		st.CertExpires = leaf.NotAfter
	}
	st.Pending = []control.Request{}
	for _, r := range d.broker.Pending() {
		st.Pending = append(st.Pending, toControl(r))
	}
	return st
}

func toControl(r broker.Request) control.Request {
	return control.Request{ID: r.ID, AppID: r.AppID, AppName: r.AppName, AppIcon: r.AppIcon, Origin: r.Origin,
		RedirectHost: r.RedirectHost, Scope: r.Scope, Account: r.Account, Kind: r.Kind, Created: r.Created, Expires: r.Expires}
}

// refreshProfile loads the profile so status can name the account.
func (d *Daemon) refreshProfile(ctx context.Context) {
	if d.idp.SignedIn() {
		if _, err := d.idp.Me(ctx); err != nil && !errors.Is(err, idp.ErrSignedOut) {
			d.log.Debug("profile", "err", err)
		}
	}
}

// Pause sends pages to QR for dur, or until Resume when dur is 0.
func (d *Daemon) Pause(dur time.Duration) {
	d.mu.Lock()
	d.paused = true
	d.pausedUntil = time.Time{}
	if d.pauseTimer != nil {
		d.pauseTimer.Stop()
		d.pauseTimer = nil
	}
	if dur > 0 {
		d.pausedUntil = time.Now().Add(dur)
		d.pauseTimer = time.AfterFunc(dur, d.Resume)
	}
	d.mu.Unlock()
	d.log.Info("paused", "for", dur)
	d.changed()
}

// Resume ends a pause.
func (d *Daemon) Resume() {
	d.mu.Lock()
	d.paused = false
	d.pausedUntil = time.Time{}
	if d.pauseTimer != nil {
		d.pauseTimer.Stop()
		d.pauseTimer = nil
	}
	d.mu.Unlock()
	d.log.Info("resumed")
	d.changed()
}

// ErrAlreadySignedIn refuses a second enrolment.
var ErrAlreadySignedIn = errors.New("already signed in; run `scanfreed logout` first")

// StartLogin begins device enrolment and finishes it in the background.
func (d *Daemon) StartLogin(ctx context.Context) (control.Login, error) {
	if d.idp.SignedIn() {
		return control.Login{}, ErrAlreadySignedIn
	}
	d.mu.Lock()
	if d.login != nil && d.login.InProgress && time.Now().Before(d.login.ExpiresAt) {
		l := *d.login
		d.mu.Unlock()
		return l, nil
	}
	runCtx := d.ctx
	d.mu.Unlock()
	host, _ := os.Hostname()
	da, err := d.idp.StartEnrolment(ctx, host, runtime.GOOS)
	if err != nil {
		return control.Login{}, err
	}
	l := control.Login{InProgress: true, UserCode: da.UserCode, VerificationURI: da.VerificationURI,
		VerificationURIComplete: da.VerificationURIComplete, ExpiresAt: time.Now().Add(time.Duration(da.ExpiresIn) * time.Second)}
	d.mu.Lock()
	d.login = &l
	d.mu.Unlock()
	d.changed()
	go func() {
		err := d.idp.WaitEnrolment(runCtx, da)
		d.mu.Lock()
		d.login = &control.Login{}
		if err != nil {
			d.login.Error = err.Error()
		}
		d.mu.Unlock()
		if err == nil {
			d.attestKey(runCtx)
			d.refreshProfile(runCtx)
			name := "your account"
			if p, ok := d.idp.Cached(); ok {
				name = p.Nickname
			}
			d.notify("scanfree is ready", "This desktop is signed in as "+name+".")
		} else {
			d.log.Warn("sign-in did not finish", "err", err)
		}
		d.changed()
	}()
	return l, nil
}

// SetBackend points a signed-out desktop at another backend (`scanfreed
// login --backend`), with the pages of its origin trusted unless trusted
// origins are set. It refuses when the machine's configuration sets the
// backend, when the desktop is signed in, and while a sign-in is under way.
func (d *Daemon) SetBackend(raw string) error {
	if d.cfg.BackendLocked {
		return errors.New("this computer's administrator set backend_url for every user; it cannot be changed here")
	}
	u, err := idp.ParseBackendURL(raw)
	if err != nil {
		return err
	}
	if u.String() == d.idp.BackendURL() {
		return nil
	}
	d.mu.Lock()
	busy := d.login != nil && d.login.InProgress && time.Now().Before(d.login.ExpiresAt)
	origins := d.cfg.TrustedOrigins
	d.mu.Unlock()
	if busy {
		return errors.New("a sign-in is under way at " + d.idp.BackendURL() + "; let it finish or expire first")
	}
	if d.originsDefault {
		origins = []string{u.Scheme + "://" + u.Host}
	}
	if err := d.idp.SetBackend(raw, origins); err != nil {
		return err
	}
	d.api.SetTrustedOrigins(origins)
	d.mu.Lock()
	d.cfg.TrustedOrigins = origins
	d.mu.Unlock()
	d.log.Info("backend changed", "backend", raw, "trusted_origins", origins)
	d.changed()
	return nil
}

// attestKey shows the backend that a TPM holds this desktop's key; a
// refusal (a backend that checks no TPMs, or does not trust this TPM's
// maker) leaves the key recorded as software, which is logged.
func (d *Daemon) attestKey(ctx context.Context) {
	got, err := d.idp.AttestKey(ctx)
	switch {
	case err != nil:
		d.log.Warn("the backend did not record this desktop's key as held by its TPM", "err", err)
	case got == "tpm":
		d.log.Info("the backend verified that this desktop's key is held by its TPM")
	}
}

// Logout signs the desktop out at the backend and forgets the credential.
func (d *Daemon) Logout(ctx context.Context) error {
	err := d.idp.Logout(ctx)
	d.changed()
	if err != nil {
		return fmt.Errorf("the credential is forgotten, but the backend was not told (%v); revoke the device on your account page", err)
	}
	return nil
}

// desktopNotify shows a desktop notification; a missing notification
// service is logged, not fatal.
func (d *Daemon) desktopNotify(title, msg string) {
	if d.cfg.NoNotify {
		return
	}
	go func() {
		if err := dialog.Notify(title, msg); err != nil {
			d.log.Debug("desktop notification not shown", "err", err)
		}
	}()
}

// AnswerQR confirms or cancels the QR login whose URL (…/x/<uuid>) the user
// gives, as this desktop's account. Only the uuid leaves the daemon, and
// only to its own backend: the URL's host is never contacted.
func (d *Daemon) AnswerQR(ctx context.Context, qrURL string, confirm bool) (string, error) {
	u, err := url.Parse(qrURL)
	if err != nil {
		return "", fmt.Errorf("QR URL %q: %w", qrURL, err)
	}
	uuid, ok := strings.CutPrefix(u.Path, "/x/")
	if !ok || uuid == "" || strings.Contains(uuid, "/") {
		return "", fmt.Errorf("%q is not a scanfree QR login URL (…/x/<code>)", qrURL)
	}
	app, err := d.idp.QR(ctx, uuid, confirm)
	if err != nil {
		return "", fmt.Errorf("answer QR login: %w", err)
	}
	if confirm {
		d.signedIn(localapi.SignIn{AppName: app, Origin: "QR code", Account: d.accountName(), At: time.Now()})
	}
	return app, nil
}

func (d *Daemon) accountName() string {
	if p, ok := d.idp.Cached(); ok {
		return p.Nickname
	}
	return ""
}
