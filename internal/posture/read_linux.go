package posture

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const secureBootEFIVar = "/sys/firmware/efi/efivars/SecureBoot-8be4dfcb-93aa-4d45-ade4-0d8ac12e0b8c"

func read(ctx context.Context) Report {
	r := Report{OS: "linux"}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		r.OSVersion = unix.ByteSliceToString(u.Release[:])
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		r.OSName = osRelease(string(b))
	}
	r.DiskEncryption = linuxDisk()
	r.SecureBoot = linuxSecureBoot()
	r.ScreenLock = linuxScreenLock(ctx)
	return r
}

// linuxDisk: is the filesystem at / on dm-crypt (directly, or under LVM)?
func linuxDisk() Signal {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return signal(Unknown, "read mountinfo: %v", err)
	}
	dev, source := rootDevice(string(mi))
	if strings.HasPrefix(dev, "0:") {
		// btrfs and other virtual device numbers: the source names the
		// block device.
		var st unix.Stat_t
		if err := unix.Stat(source, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK {
			return signal(Unknown, "/ is on %s, not a block device", source)
		}
		dev = fmt.Sprintf("%d:%d", unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)))
	}
	if dev == "" {
		return signal(Unknown, "no / in mountinfo")
	}
	sys := os.DirFS("/sys")
	if _, err := fs.Stat(sys, "dev/block/"+dev); err != nil {
		return signal(Unknown, "/ is on %s (%s), which sysfs does not show", source, dev)
	}
	if ok, name := encryptedBlock(sys, dev); ok {
		return signal(Yes, "/ is on dm-crypt (%s)", name)
	}
	return signal(No, "/ is on %s, not on dm-crypt", source)
}

func linuxSecureBoot() Signal {
	b, err := os.ReadFile(secureBootEFIVar)
	switch {
	case err == nil:
		return secureBootVar(b)
	case errors.Is(err, fs.ErrNotExist):
		if _, err := os.Stat("/sys/firmware/efi"); errors.Is(err, fs.ErrNotExist) {
			return signal(No, "booted without UEFI")
		}
		return signal(Unknown, "no SecureBoot EFI variable")
	}
	return signal(Unknown, "read SecureBoot EFI variable: %v", err)
}

// linuxScreenLock asks GNOME's settings (other desktops keep theirs
// elsewhere: unknown).
func linuxScreenLock(ctx context.Context) Signal {
	if _, err := exec.LookPath("gsettings"); err != nil {
		return signal(Unknown, "no gsettings (not GNOME)")
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	const key = "org.gnome.desktop.screensaver lock-enabled"
	out, err := exec.CommandContext(ctx, "gsettings", strings.Fields("get "+key)...).Output()
	if err != nil {
		return signal(Unknown, "gsettings %s: %v", key, err)
	}
	return gsettingsBool(string(out), key)
}
