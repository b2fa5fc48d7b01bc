package installer

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// An MSI an IT team pushes to Windows desktops (Intune, Group Policy,
// SCCM): scanfreed.exe and scanfree-tray.exe in Program Files\scanfree,
// both started at every user's logon from the machine's Run key, and —
// when the properties are given — the machine policy the daemon reads
// (HKLM\Software\Policies\scanfree), which users cannot override. wixl
// has no component conditions, so both values are always written; an
// empty one (a property not given) sets nothing (see daemon/cli):
//
//	msiexec /i scanfree.msi /qn BACKEND_URL=https://id.corp.example [TRUSTED_ORIGINS=https://a,https://b]
//
// Like the .deb it holds no credential and no CA: each user's daemon
// makes its own CA, which `scanfreed certs install` (or the tray's sign
// in) adds to that user's Root store, and each person signs her desktop
// in. Built on Linux with msitools' wixl.

// MSIOptions say what BuildMSI packages.
type MSIOptions struct {
	Bin     string // directory holding scanfreed.exe and scanfree-tray.exe for windows/amd64
	Version string // the release name (git describe), made an MSI version
	Out     string // the .msi file to write
}

// msiUpgradeCode names scanfree across versions (an MSI's UpgradeCode);
// it never changes.
const msiUpgradeCode = "72492A41-67A9-410F-A8CB-FC16942E912F"

var msiVersionRE = regexp.MustCompile(`^v?([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,5})`)

// MSIVersion makes an MSI ProductVersion (major.minor.build, at most
// 255.255.65535) of a release name: "v1.2.3-rc1" is 1.2.3; a build
// between tags ("537baea-dirty") is 0.0.0, which any release upgrades.
func MSIVersion(release string) string {
	m := msiVersionRE.FindStringSubmatch(release)
	if m == nil {
		return "0.0.0"
	}
	var major, minor, build int
	fmt.Sscan(m[1], &major)
	fmt.Sscan(m[2], &minor)
	fmt.Sscan(m[3], &build)
	if major > 255 || minor > 255 || build > 65535 {
		return "0.0.0"
	}
	return fmt.Sprintf("%d.%d.%d", major, minor, build)
}

// xmlAttr escapes s for an XML attribute (EscapeText escapes quotes too).
func xmlAttr(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// msiSource is the package's WiX source; wixl reads the binaries from
// its working directory (it takes no absolute Source).
func msiSource(version string) string {
	const run = `Software\Microsoft\Windows\CurrentVersion\Run`
	return `<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="scanfree" Language="1033" Version="` + MSIVersion(version) + `" Manufacturer="scanfree" UpgradeCode="` + msiUpgradeCode + `">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine" Description="scan-free web login on this desktop" Comments="` + xmlAttr(version) + `"/>
    <Media Id="1" Cabinet="scanfree.cab" EmbedCab="yes"/>
        <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="scanfree">
          <Component Id="Daemon" Guid="8048A72B-874F-445B-B1C2-1046662DE64C" Win64="yes">
            <File Id="scanfreed.exe" Name="scanfreed.exe" Source="scanfreed.exe" KeyPath="yes"/>
            <RegistryValue Root="HKLM" Key="` + run + `" Name="scanfreed" Type="string" Value="&#34;[INSTALLDIR]scanfreed.exe&#34; run"/>
          </Component>
          <Component Id="Tray" Guid="AEA011F2-94F7-413E-BBC6-A2ACDADDCCC4" Win64="yes">
            <File Id="scanfree_tray.exe" Name="scanfree-tray.exe" Source="scanfree-tray.exe" KeyPath="yes"/>
            <RegistryValue Root="HKLM" Key="` + run + `" Name="scanfree-tray" Type="string" Value="&#34;[INSTALLDIR]scanfree-tray.exe&#34;"/>
          </Component>
          <Component Id="BackendPolicy" Guid="379C7403-F6E6-4596-96E1-F2081FCA422F" Win64="yes">
            <RegistryValue Root="HKLM" Key="Software\Policies\scanfree" Name="backend_url" Type="string" Value="[BACKEND_URL]" KeyPath="yes"/>
          </Component>
          <Component Id="OriginsPolicy" Guid="2B9722F8-BEBE-4685-94DB-CD890CD9A5D2" Win64="yes">
            <RegistryValue Root="HKLM" Key="Software\Policies\scanfree" Name="trusted_origins" Type="string" Value="[TRUSTED_ORIGINS]" KeyPath="yes"/>
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Main" Title="scanfree" Level="1">
      <ComponentRef Id="Daemon"/>
      <ComponentRef Id="Tray"/>
      <ComponentRef Id="BackendPolicy"/>
      <ComponentRef Id="OriginsPolicy"/>
    </Feature>
  </Product>
</Wix>
`
}

// BuildMSI writes the MSI of o with wixl (msitools).
func BuildMSI(ctx context.Context, o MSIOptions) error {
	for _, exe := range []string{"scanfreed.exe", "scanfree-tray.exe"} {
		if _, err := os.Stat(filepath.Join(o.Bin, exe)); err != nil {
			return fmt.Errorf("build msi: %w (build them for windows/amd64 first: make dist)", err)
		}
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return fmt.Errorf("build msi: %w", err)
	}
	dir, err := os.MkdirTemp("", "scanfree-msi-")
	if err != nil {
		return fmt.Errorf("build msi: %w", err)
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "scanfree.wxs")
	if err := os.WriteFile(src, []byte(msiSource(o.Version)), 0o644); err != nil {
		return fmt.Errorf("build msi: %w", err)
	}
	cmd := exec.CommandContext(ctx, "wixl", "-a", "x64", "-o", out, src)
	cmd.Dir = o.Bin
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build msi: wixl: %w: %s (install wixl: apt-get install wixl)", err, strings.TrimSpace(string(msg)))
	}
	return nil
}
