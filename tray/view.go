// Package tray is scanfree-tray: the desktop's status icon and menu. It is
// a pure client of the daemon's control API (package control) and imports
// nothing else of the daemon: it follows the event stream, shows the state
// as icon and menu, and turns menu clicks into control calls.
package tray

import (
	"fmt"
	"time"

	"github.com/scanfree/scanfree/daemon/control"
)

// State is what the icon shows.
type State string

// States, one icon each.
const (
	Ready      State = "ready"
	Paused     State = "paused"
	Locked     State = "locked"
	SignedOut  State = "signed out"
	NotRunning State = "daemon not running"
)

// View is everything the tray shows for one daemon status.
type View struct {
	State     State
	Title     string // the item's title and tooltip
	Account   string // the first, disabled menu line
	CanPause  bool
	CanResume bool
	CanSignIn bool
	CanOut    bool
	CanStart  bool
	Pending   *control.Request
	Recent    []string
	// Warnings are what apps the person uses would refuse this desktop
	// for (their device policies).
	Warnings []string
}

// ViewOf computes the view of a status; running false means the daemon
// cannot be reached.
func ViewOf(st control.Status, running bool) View {
	if !running {
		return View{State: NotRunning, Title: "scanfree: daemon not running", Account: "scanfreed is not running", CanStart: true}
	}
	v := View{CanSignIn: !st.SignedIn, CanOut: st.SignedIn, CanPause: !st.Paused, CanResume: st.Paused}
	switch {
	case !st.SignedIn:
		v.State, v.Account = SignedOut, "Not signed in"
		if st.Login != nil && st.Login.InProgress {
			v.Account = "Signing in: enter " + st.Login.UserCode + " on the web page"
		}
	case st.Paused:
		v.State = Paused
	case st.Lock == "locked":
		v.State = Locked
	default:
		v.State = Ready
	}
	if st.SignedIn {
		v.Account = "Signed in"
		if st.Account != nil {
			v.Account = "Signed in as " + st.Account.Nickname
		}
	}
	v.Title = "scanfree: " + string(v.State)
	if v.State == Ready {
		v.Title = "scanfree: ready"
	}
	if st.Paused && !st.PausedUntil.IsZero() {
		v.Title += " until " + st.PausedUntil.Local().Format(time.Kitchen)
	}
	if len(st.Pending) > 0 {
		p := st.Pending[0]
		v.Pending = &p
		v.Title = "scanfree: waiting for your answer"
	}
	if st.SignedIn && len(st.PolicyWarnings) > 0 {
		v.Warnings = st.PolicyWarnings[:min(len(st.PolicyWarnings), maxWarnings)]
	}
	for i, r := range st.Recent {
		if i == maxRecent {
			break
		}
		v.Recent = append(v.Recent, fmt.Sprintf("%s, %s", r.AppName, r.At.Local().Format("Jan 2 15:04")))
	}
	return v
}

// maxWarnings is how many policy warnings the menu lists.
const maxWarnings = 3

// maxRecent is how many recent sign-ins the menu lists.
const maxRecent = 5

// maxApps is how many allowed desktop apps the menu lists.
const maxApps = 5

// AppTitle is the menu line of an allowed desktop app; clicking it
// forgets the app.
func AppTitle(c control.AppConsent) string {
	what := "signs you in"
	if !c.PhoneAt.IsZero() {
		what += ", reads your phone number"
	}
	return "Forget " + c.AppName + " (" + what + ")"
}

// PendingTitle is the menu line of a pending confirmation.
func PendingTitle(r control.Request) string {
	switch r.Kind {
	case "app":
		return fmt.Sprintf("%s on this computer wants to sign you in as %s", r.AppName, r.Account)
	case "phone":
		return fmt.Sprintf("%s on this computer wants your phone number", r.AppName)
	}
	return fmt.Sprintf("Sign in to %s as %s? (from %s)", r.AppName, r.Account, r.Origin)
}
