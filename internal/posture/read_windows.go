package posture

import (
	"context"
	"fmt"
	"os/exec"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

func read(ctx context.Context) Report {
	v := windows.RtlGetVersion()
	r := Report{OS: "windows", OSVersion: fmt.Sprintf("%d.%d.%d", v.MajorVersion, v.MinorVersion, v.BuildNumber)}
	r.DiskEncryption = windowsBitLocker(ctx)
	r.SecureBoot = registryFlag(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Control\SecureBoot\State`, "UEFISecureBootEnabled")
	r.ScreenLock = registryFlag(registry.CURRENT_USER, `Control Panel\Desktop`, "ScreenSaverIsSecure")
	return r
}

// windowsBitLocker asks manage-bde about the system drive; without an
// administrator's rights it says nothing, which is unknown.
func windowsBitLocker(ctx context.Context) Signal {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "manage-bde", "-status", "C:").CombinedOutput()
	return manageBDE(string(out))
}

// registryFlag reads a DWORD (or "1"/"0" string) flag.
func registryFlag(root registry.Key, path, name string) Signal {
	k, err := registry.OpenKey(root, path, registry.QUERY_VALUE)
	if err != nil {
		return signal(Unknown, "registry %s: %v", path, err)
	}
	defer k.Close()
	if n, _, err := k.GetIntegerValue(name); err == nil {
		return flag(n == 1, `registry %s\%s = %d`, path, name, n)
	}
	if s, _, err := k.GetStringValue(name); err == nil {
		return flag(s == "1", `registry %s\%s = %q`, path, name, s)
	}
	return signal(Unknown, `registry %s\%s not set`, path, name)
}

func flag(on bool, how string, args ...any) Signal {
	if on {
		return signal(Yes, how, args...)
	}
	return signal(No, how, args...)
}
