//go:build !linux && !windows && !darwin

package posture

import (
	"context"
	"runtime"
)

func read(context.Context) Report {
	return Report{OS: runtime.GOOS, DiskEncryption: signal(Unknown, "not read on %s", runtime.GOOS),
		ScreenLock: signal(Unknown, "not read on %s", runtime.GOOS), SecureBoot: signal(Unknown, "not read on %s", runtime.GOOS)}
}
