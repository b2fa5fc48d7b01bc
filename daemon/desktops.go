package daemon

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/scanfree/scanfree/daemon/idp"
	"github.com/scanfree/scanfree/internal/periodic"
)

// desktopsFile keeps the IDs of the account's desktops this daemon has
// seen, so a new one is announced once, across restarts.
const desktopsFile = "desktops.json"

// desktopCheckEvery is how often the daemon looks for new desktops on its
// own, besides every time it reads the profile for a sign-in.
const desktopCheckEvery = 10 * time.Minute

// watchDesktops looks for new desktops of the account every
// desktopCheckEvery until ctx ends.
func (d *Daemon) watchDesktops(ctx context.Context) {
	periodic.Run(ctx, desktopCheckEvery, func() {
		if d.idp.SignedIn() {
			d.idp.Me(ctx) // the profile hook does the rest
		}
	})
}

// profileSeen tells the person about every desktop of the account it has
// not seen before: another desktop signed in as them is the mark of a
// device-code phishing that worked. The first profile only records what
// is there.
func (d *Daemon) profileSeen(p idp.Profile) {
	// A TPM-held key the backend does not know as such (its TPM makers
	// were configured after this desktop enrolled, or the first showing
	// failed) is shown again, once per run; so is a Platform Crypto
	// Provider's, which the TPM under it holds.
	if held := d.idp.KeyProtection(); p.KeyProtection != "tpm" && (held == "tpm" || held == "platform") && d.attestAgain.CompareAndSwap(false, true) {
		d.mu.Lock()
		ctx := d.ctx
		d.mu.Unlock()
		if ctx != nil {
			go d.attestKey(ctx)
		}
	}
	d.desktopsMu.Lock()
	defer d.desktopsMu.Unlock()
	path := filepath.Join(d.cfg.StateDir, desktopsFile)
	first := false
	if d.desktops == nil { // read once; after that the memory copy is the truth
		b, err := os.ReadFile(path)
		first = os.IsNotExist(err)
		d.desktops = []string{}
		if err == nil {
			json.Unmarshal(b, &d.desktops)
		}
	}
	seen := d.desktops
	changed := first
	for _, o := range p.Desktops {
		if slices.Contains(seen, o.ID) {
			continue
		}
		seen, changed = append(seen, o.ID), true
		if first {
			continue
		}
		d.log.Warn("a new desktop was signed in to this account", "desktop", o.Name, "os", o.OS, "enrolled_at", o.EnrolledAt)
		d.notify("New desktop signed in as "+p.Nickname,
			o.Name+" ("+o.OS+") was signed in to your account at "+o.EnrolledAt.Local().Format("Jan 2 15:04")+". Not you? Revoke it on your account page.")
	}
	d.desktops = seen
	if changed {
		b, _ := json.Marshal(seen)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			d.log.Warn("remember the account's desktops", "err", err)
		}
	}
}
