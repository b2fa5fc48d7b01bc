package demoup_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/internal/harness/system"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// up runs `scanfree-demo up` as make demo does, with env added, and
// returns its output and exit error.
func up(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	bin, err := system.Build(context.Background(), "./cmd/scanfree-demo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(system.Cleanup)
	out, errOut, err := system.Run(context.Background(), env, "", bin, append([]string{"up"}, args...)...)
	return out + errOut, err
}

// untouched checks that the demo made no CA in state (nothing was trusted).
func untouched(t *testing.T, state string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(state, "daemon")); !os.IsNotExist(err) {
		t.Fatalf("the demo made its daemon's state (and CA) before failing: %v", err)
	}
}

// TestDemoPortTaken: with the backend's port taken (a second demo, a dev
// server), the demo stops before it builds, starts or trusts anything,
// naming the port and how to choose another, with a non-zero exit.
func TestDemoPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	state := t.TempDir()
	shop := "127.0.0.1:" + itoa(testutil.FreePort(t))
	out, err := up(t, nil, "--state", state, "--backend-addr", ln.Addr().String(), "--shop-addr", shop)
	if _, ok := err.(*exec.ExitError); !ok || !strings.Contains(out, ln.Addr().String()+" is taken") || !strings.Contains(out, "--backend-addr") {
		t.Fatalf("with the port taken: %v\n%s", err, out)
	}
	if strings.Contains(out, "Installing") {
		t.Fatalf("it went on to the CA:\n%s", out)
	}
	untouched(t, state)
}

// TestDemoNoCertutil: without certutil (Linux), the demo stops at once
// with the package to install, a non-zero exit, and no CA made.
func TestDemoNoCertutil(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("certutil is how Linux browsers trust a CA; elsewhere the system store does")
	}
	state := t.TempDir()
	out, err := up(t, []string{"PATH=" + t.TempDir()}, "--state", state,
		"--backend-addr", "127.0.0.1:"+itoa(testutil.FreePort(t)), "--shop-addr", "127.0.0.1:"+itoa(testutil.FreePort(t)))
	if _, ok := err.(*exec.ExitError); !ok || !strings.Contains(out, "certutil is missing") || !strings.Contains(out, "libnss3-tools") {
		t.Fatalf("without certutil: %v\n%s", err, out)
	}
	untouched(t, state)
}

func itoa(n int) string { return strconv.Itoa(n) }
