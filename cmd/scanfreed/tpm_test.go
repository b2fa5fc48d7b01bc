package main

import (
	"context"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/swtpmtest"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestTPMKeyShownAgain: a desktop whose TPM-held key the backend could
// not verify when it enrolled (the backend trusted no TPM maker then) is
// recorded as software. Once the backend trusts the maker, the daemon's
// next run shows the key again at its first profile read, and the backend
// records tpm, with no new sign-in.
func TestTPMKeyShownAgain(t *testing.T) {
	maker := swtpmtest.NewMaker(t)
	tp := maker.Start(t)
	b := e2e.StartBackendWith(t, e2e.BackendOptions{})
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog", "--tpm", tp.Addr}})
	d.SignIn(b, "alice")
	key := func(d *e2e.Daemon) string { // what the daemon holds / what the backend verified
		d.CheckLogin(b) // reads the profile, once its cache is stale
		st, err := d.Control.Status(context.Background())
		if err != nil {
			return err.Error()
		}
		return st.KeyProtection + "/" + st.KeyVerified
	}
	testutil.Eventually(t, 20*time.Second, "the TPM key recorded as software by a backend that trusts no maker", func() bool {
		return key(d) == "tpm/software"
	})

	b.Stop()
	b.AddArgs("--tpm-ek-roots", maker.Roots)
	b.Start()
	d.Proc.Stop(10 * time.Second) // swtpm serves one connection: the next run's
	again := e2e.StartDaemonIn(t, b, d.StateDir, e2e.DaemonOptions{Args: []string{"--no-dialog", "--tpm", tp.Addr}})
	testutil.Eventually(t, 30*time.Second, "the next run to show the key again and the backend to verify it", func() bool {
		return key(again) == "tpm/tpm"
	})
}
