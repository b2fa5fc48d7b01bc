package posture

import (
	"bufio"
	"io/fs"
	"path"
	"strings"
)

// The parsers of what each OS says; portable, so that every OS's are
// tested on captured inputs wherever the tests run.

// rootDevice is the major:minor of the filesystem mounted at / in a
// /proc/self/mountinfo, and its mount source.
func rootDevice(mountinfo string) (dev, source string) {
	sc := bufio.NewScanner(strings.NewReader(mountinfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[4] != "/" {
			continue
		}
		for i, x := range f {
			if x == "-" && i+2 < len(f) {
				dev, source = f[2], f[i+2]
			}
		}
	}
	return dev, source
}

// encryptedBlock reports whether block device dev (major:minor) of a
// sysfs (rooted at /sys) is dm-crypt or sits on dm-crypt (LVM on LUKS),
// and names the crypt device.
func encryptedBlock(sys fs.FS, dev string) (bool, string) {
	return encryptedAt(sys, path.Join("dev/block", dev), 0)
}

func encryptedAt(sys fs.FS, dir string, depth int) (bool, string) {
	if depth > 8 {
		return false, ""
	}
	if uuid, err := fs.ReadFile(sys, path.Join(dir, "dm/uuid")); err == nil && strings.HasPrefix(string(uuid), "CRYPT-") {
		name, _ := fs.ReadFile(sys, path.Join(dir, "dm/name"))
		return true, strings.TrimSpace(string(name))
	}
	slaves, _ := fs.ReadDir(sys, path.Join(dir, "slaves"))
	for _, s := range slaves {
		if ok, name := encryptedAt(sys, path.Join("class/block", s.Name()), depth+1); ok {
			return true, name
		}
	}
	// A partition: its disk is the directory above it in sysfs, which
	// dev/block does not name; a partition of a dm device is rare enough.
	return false, ""
}

// secureBootVar reads the EFI variable SecureBoot (4 bytes of attributes,
// then 1 when enabled).
func secureBootVar(b []byte) Signal {
	if len(b) != 5 {
		return signal(Unknown, "efivars SecureBoot has %d bytes", len(b))
	}
	if b[4] == 1 {
		return signal(Yes, "efivars SecureBoot = 1")
	}
	return signal(No, "efivars SecureBoot = %d", b[4])
}

// gsettingsBool reads `gsettings get` of a boolean key.
func gsettingsBool(out, key string) Signal {
	switch strings.TrimSpace(out) {
	case "true":
		return signal(Yes, "gsettings %s", key)
	case "false":
		return signal(No, "gsettings %s", key)
	}
	return signal(Unknown, "gsettings %s said %q", key, strings.TrimSpace(out))
}

// osRelease is PRETTY_NAME of an /etc/os-release.
func osRelease(s string) string {
	for line := range strings.Lines(s) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

// manageBDE reads `manage-bde -status C:`: the system volume's
// "Protection Status". Other languages' outputs, and an error (it needs
// an administrator), are unknown.
func manageBDE(out string) Signal {
	for line := range strings.Lines(out) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || strings.TrimSpace(k) != "Protection Status" {
			continue
		}
		switch v = strings.TrimSpace(v); {
		case strings.HasPrefix(v, "Protection On"):
			return signal(Yes, "manage-bde: %s", v)
		case strings.HasPrefix(v, "Protection Off"):
			return signal(No, "manage-bde: %s", v)
		}
		return signal(Unknown, "manage-bde: %s", v)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	return signal(Unknown, "manage-bde gave no protection status (%s)", strings.TrimSpace(first))
}

// fdesetup reads `fdesetup status`.
func fdesetup(out string) Signal {
	first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	switch {
	case strings.HasPrefix(first, "FileVault is On"):
		return signal(Yes, "fdesetup: %s", first)
	case strings.HasPrefix(first, "FileVault is Off"):
		return signal(No, "fdesetup: %s", first)
	}
	return signal(Unknown, "fdesetup: %q", first)
}
