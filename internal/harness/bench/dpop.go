package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/daemon/creds"
	"github.com/scanfree/scanfree/daemon/idp"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/harness/system"
)

// DPoP measures the device API's authorize round trip (a code minted for
// an enrolled desktop, as after the person clicks Allow) for a desktop
// with a bare credential, one proving a software key (RFC 9449 DPoP) and
// one whose key is in a TPM (swtpm, when it is installed), one client
// each, against one backend in the same run. Signing happens only on
// backend calls: check-login never signs (see the daemon scenario).
func DPoP(ctx context.Context, w io.Writer, d time.Duration) error {
	sv, err := serve(ctx, server.Config{DeviceInterval: 100 * time.Millisecond})
	if err != nil {
		return err
	}
	defer sv.close()
	dir, err := os.MkdirTemp("", "sfb-dpop")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	kinds := []struct{ name, keyFile, tpm string }{
		{"bare credential", "", ""},
		{"DPoP, software key", "dpop-key.pem", "off"},
	}
	if addr, stop, err := startSWTPM(filepath.Join(dir, "tpm")); err != nil {
		fmt.Fprintf(w, "\n(no TPM row: %v)\n", err)
	} else {
		defer stop()
		kinds = append(kinds, struct{ name, keyFile, tpm string }{"DPoP, key in swtpm", "dpop-key.pem", addr})
	}
	req := deviceapi.SignInRequest{AppID: sv.app.AppID, Scope: "snsapi_login", RedirectURI: benchRedirect, State: "s"}
	var rows []Result
	for i, k := range kinds {
		sd := filepath.Join(dir, strconv.Itoa(i))
		cfg := idp.Config{BackendURL: sv.url, PageOrigins: []string{"http://idp.localhost"}, Creds: creds.New(sd), TPM: k.tpm}
		if k.keyFile != "" {
			cfg.KeyFile = filepath.Join(sd, k.keyFile)
		}
		c, err := idp.New(cfg)
		if err != nil {
			return err
		}
		if err := enrolClient(ctx, c, sv); err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
		if p := c.KeyProtection(); k.keyFile != "" && p != map[bool]string{true: "software", false: "tpm"}[k.tpm == "off"] {
			return fmt.Errorf("%s: the key is %q", k.name, p)
		}
		rows = append(rows, Run(ctx, k.name, 1, 1<<30, d, func(ctx context.Context, _ int) error {
			_, err := c.Authorize(ctx, req)
			return err
		}))
	}
	Print(w, "device authorize round trip (a code minted through the device API), 1 client, "+d.String()+" per row", "bare credential", rows)
	return nil
}

// enrolClient signs c in as alice through the device flow.
func enrolClient(ctx context.Context, c *idp.Client, sv *served) error {
	da, err := c.StartEnrolment(ctx, "bench", "linux")
	if err != nil {
		return err
	}
	if _, err := admin.ApproveDevice(ctx, sv.st, "alice", da.UserCode, time.Now()); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return c.WaitEnrolment(ctx, da)
}

// startSWTPM runs Debian's swtpm on a loopback port with a fresh state
// dir, returning its tpm setting and a stop function.
func startSWTPM(state string) (string, func(), error) {
	if _, err := exec.LookPath("swtpm"); err != nil {
		return "", nil, fmt.Errorf("swtpm is not installed (apt-get install swtpm)")
	}
	if err := os.MkdirAll(state, 0o700); err != nil {
		return "", nil, err
	}
	port, err := system.FreePort()
	if err != nil {
		return "", nil, err
	}
	p, err := system.Start(nil, nil, "swtpm", "socket", "--tpm2", "--tpmstate", "dir="+state,
		"--server", "type=tcp,bindaddr=127.0.0.1,port="+strconv.Itoa(port),
		"--ctrl", "type=tcp,bindaddr=127.0.0.1,port="+strconv.Itoa(port+1), "--flags", "not-need-init,startup-clear")
	if err != nil {
		return "", nil, err
	}
	stop := func() { p.Stop(5 * time.Second) }
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port+1), time.Second); err == nil {
			c.Close()
			return "simulator:127.0.0.1:" + strconv.Itoa(port), stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("swtpm did not listen on port %d", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
