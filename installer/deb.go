package installer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// A Debian package an IT team pushes to its desktops (apt, Ansible,
// Landscape): scanfreed and scanfree-tray in /usr/bin, a systemd user unit
// every user's session starts (enabled globally on install, and trusting
// the user's own local CA in her browsers before the daemon starts), and
// the tray's autostart entry for every desktop session. Each person then
// signs her desktop in (`scanfreed login`, or "Sign in…" in the tray); the
// package holds no credential and no CA: those are made per user.

// DebOptions say what BuildDeb packages.
type DebOptions struct {
	Bin     string // directory holding scanfreed and scanfree-tray built for Arch
	Version string // the release name (git describe), made a Debian version
	Arch    string // GOARCH: amd64 or arm64
	Out     string // the .deb file to write
}

// DebianPackage is the package's name.
const DebianPackage = "scanfree"

// DebianFiles are the package's files besides the binaries.
func DebianFiles() []File {
	return []File{
		{Path: "/usr/lib/systemd/user/" + ServiceName + ".service", Content: systemdUnit("/usr/bin/scanfreed", "", true), Mode: 0o644},
		{Path: "/etc/xdg/autostart/scanfree-tray.desktop", Content: autostartEntry("/usr/bin/scanfree-tray"), Mode: 0o644},
	}
}

// debianScripts enable the user unit for every user on install and
// disable it on removal; without systemd (a container) there is nothing
// to enable, and the package still installs.
var debianScripts = map[string]string{
	"postinst": "#!/bin/sh\nset -e\nif [ \"$1\" = configure ] && command -v systemctl >/dev/null 2>&1; then\n" +
		"\tsystemctl --global enable " + ServiceName + ".service >/dev/null 2>&1 || true\nfi\n",
	"prerm": "#!/bin/sh\nset -e\nif [ \"$1\" = remove ] && command -v systemctl >/dev/null 2>&1; then\n" +
		"\tsystemctl --global disable " + ServiceName + ".service >/dev/null 2>&1 || true\nfi\n",
}

var (
	releaseRE   = regexp.MustCompile(`^[0-9]+\.[0-9]+[A-Za-z0-9.+~-]*$`) // a tag: 1.2.0, 1.2.0-rc1
	notDebianRE = regexp.MustCompile(`[^A-Za-z0-9.+~]+`)                 // what a Debian version cannot hold
)

// DebianVersion makes a Debian version of a release name: "v1.2.0" is
// 1.2.0; a build between tags ("537baea-dirty") sorts before any release,
// 0~git537baea.dirty.
func DebianVersion(release string) string {
	release = strings.TrimPrefix(release, "v")
	if releaseRE.MatchString(release) {
		return release
	}
	clean := notDebianRE.ReplaceAllString(release, ".")
	return "0~git" + strings.Trim(clean, ".")
}

// debianControl is the package's control file.
func debianControl(version, arch string) string {
	return `Package: ` + DebianPackage + `
Version: ` + DebianVersion(version) + `
Architecture: ` + arch + `
Maintainer: scanfree <scanfree@users.noreply.github.com>
Section: net
Priority: optional
Recommends: libnss3-tools, zenity
Homepage: https://github.com/scanfree/scanfree
Description: scan-free web login on this desktop
 scanfreed answers the sign-in pages of your organisation's scanfree server
 from this desktop: one click and one confirmation instead of scanning a QR
 code. scanfree-tray shows its state and its confirmations.
`
}

// BuildDeb writes the Debian package of o with dpkg-deb.
func BuildDeb(ctx context.Context, o DebOptions) error {
	if o.Arch != "amd64" && o.Arch != "arm64" {
		return fmt.Errorf("build deb: architecture %q: use amd64 or arm64", o.Arch)
	}
	root, err := os.MkdirTemp("", "scanfree-deb-")
	if err != nil {
		return fmt.Errorf("build deb: %w", err)
	}
	defer os.RemoveAll(root)
	files := DebianFiles()
	files = append(files, File{Path: "/DEBIAN/control", Content: debianControl(o.Version, o.Arch), Mode: 0o644})
	for name, script := range debianScripts {
		files = append(files, File{Path: "/DEBIAN/" + name, Content: script, Mode: 0o755})
	}
	for _, bin := range []string{"scanfreed", "scanfree-tray"} {
		b, err := os.ReadFile(filepath.Join(o.Bin, bin))
		if err != nil {
			return fmt.Errorf("build deb: %w (build the binaries first: make build)", err)
		}
		files = append(files, File{Path: "/usr/bin/" + bin, Content: string(b), Mode: 0o755})
	}
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("build deb: %w", err)
		}
		if err := os.WriteFile(p, []byte(f.Content), f.Mode); err != nil {
			return fmt.Errorf("build deb: %w", err)
		}
		if err := os.Chmod(p, f.Mode); err != nil { // past the umask
			return fmt.Errorf("build deb: %w", err)
		}
	}
	out, err := exec.CommandContext(ctx, "dpkg-deb", "--root-owner-group", "--build", root, o.Out).CombinedOutput()
	if err != nil {
		return fmt.Errorf("build deb: dpkg-deb: %w: %s (install dpkg-dev or dpkg)", err, strings.TrimSpace(string(out)))
	}
	return nil
}
