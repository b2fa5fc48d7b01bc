package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/pgtest"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestQRAcrossReplicas runs the QR path in chromium against three
// scanfree-server replicas on one PostgreSQL database behind a load
// balancer: the hosted page and its ticket come from replica 1, the page's
// long poll waits on replica 2, and the phone page that confirms is served
// by replica 3. The page lands signed in.
func TestQRAcrossReplicas(t *testing.T) {
	testutil.NeedTools(t, "chromium", "certutil")
	rs := e2e.StartReplicas(t, pgtest.DSN(t), 3, func(r *http.Request) int {
		switch {
		case strings.HasPrefix(r.URL.Path, "/connect/l/"):
			return 1
		case strings.HasPrefix(r.URL.Path, "/connect/"):
			return 0
		default: // the phone's page and sign-in, the device API
			return 2
		}
	})
	signInByQR(t, newWorldOn(t, rs.Backend, e2e.DaemonOptions{Args: []string{"--no-dialog"}}))
	for prefix, want := range map[string]string{"/connect/qrconnect": "[0]", "/connect/qrticket": "[0]", "/connect/l/qrconnect": "[1]", "/x/": "[2]"} {
		if got := fmt.Sprint(rs.ServedBy(prefix)); got != want {
			t.Errorf("%s was served by replicas %s, want %s (counting from 0)", prefix, got, want)
		}
	}
}
