package posture

import (
	"context"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"
)

func read(ctx context.Context) Report {
	r := Report{OS: "darwin"}
	r.OSVersion, _ = unix.Sysctl("kern.osproductversion")
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "fdesetup", "status").Output(); err == nil {
		r.DiskEncryption = fdesetup(string(out))
	} else {
		r.DiskEncryption = signal(Unknown, "fdesetup status: %v", err)
	}
	r.ScreenLock = signal(Unknown, "not read on macOS")
	r.SecureBoot = signal(Unknown, "not read on macOS")
	return r
}
