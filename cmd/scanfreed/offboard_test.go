package main

import (
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestOffboardingReachesTheDesktop: an operator disables the person (the
// CLI, on the running backend's database); her desktop's check-login
// answers "signed out" within 2 s, not at its next profile refresh (30 s),
// and the daemon says who signed it out. The same for a sign-out
// everywhere she does herself, and for deleting her account (her desktop's
// record goes with it).
func TestOffboardingReachesTheDesktop(t *testing.T) {
	for _, tc := range []struct {
		name, cmd, says string
		more            []string
	}{
		{"disabled by an operator", "disable", "disabled by an operator", nil},
		{"signed out everywhere", "signout", "signed out everywhere by an operator", nil},
		// Her desktop's record went with her account: the backend no
		// longer knows the credential, nor whose it was.
		{"deleted", "delete", "the backend no longer accepts this desktop's credential", []string{"--yes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e2e.StartBackend(t)
			d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
			d.SignIn(b, "alice")
			if r := d.CheckLogin(b); r.ErrCode != 0 {
				t.Fatalf("check-login before: %s", r.Body)
			}
			b.CLI("", append([]string{"user", tc.cmd, "alice"}, tc.more...)...)
			acted := time.Now()
			testutil.Eventually(t, 2*time.Second, "check-login answering signed out after the "+tc.cmd, func() bool {
				return d.CheckLogin(b).ErrCode == 10060
			})
			t.Logf("signed out on the desktop %v after the %s", time.Since(acted).Round(time.Millisecond), tc.cmd)
			testutil.Eventually(t, 5*time.Second, "the daemon saying who signed it out", func() bool {
				return strings.Contains(d.Proc.Stderr.String(), tc.says)
			})
		})
	}
}

// TestAlertReachesTheDesktop: alice signs in from her laptop, then from a
// desktop she never signed in from: that is an alert, and her laptop's
// daemon (a real scanfreed, watching) shows it within seconds.
func TestAlertReachesTheDesktop(t *testing.T) {
	b := e2e.StartBackend(t)
	laptop := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	laptop.SignIn(b, "alice")
	desk := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	desk.SignIn(b, "alice")
	signInVia := func(d *e2e.Daemon) {
		t.Helper()
		cl := d.CheckLogin(b)
		done := make(chan e2e.Response, 1)
		go func() { done <- d.Post("/api/authorize", e2e.AuthorizeBody(b.App.AppID, cl.JSData.AuthorizeUUID)) }()
		if err := d.Control.Approve(t.Context(), d.AwaitPending().ID); err != nil {
			t.Fatal(err)
		}
		if r := <-done; r.ErrCode != 0 {
			t.Fatalf("sign-in: %s", r.Body)
		}
	}
	signInVia(laptop) // her first sign-in: nothing to compare with
	signInVia(desk)   // a desktop new for her: an alert
	testutil.Eventually(t, 5*time.Second, "her laptop showing the alert", func() bool {
		return strings.Contains(laptop.Proc.Stderr.String(), "a desktop new for this account")
	})
}
