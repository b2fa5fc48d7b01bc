package installer

import (
	"encoding/xml"
	"path/filepath"
	"strings"
)

// systemdQuote quotes one word for a unit's ExecStart.
func systemdQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "$", "$$")
	return `"` + r.Replace(s) + `"`
}

// desktopQuote quotes one word for a .desktop Exec key.
func desktopQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\\\`, `"`, `\\"`, "`", "\\\\`", "$", `\\$`, "%", "%%")
	return `"` + r.Replace(s) + `"`
}

// linuxPlan: a systemd user unit (default.target: multi-user.target, the
// library default, is never reached by a user manager) and an XDG autostart
// entry for the tray.
func linuxPlan(o Options) Plan {
	cfg := o.ConfigDir
	if cfg == "" {
		cfg = filepath.Join(o.Home, ".config")
	}
	p := Plan{
		Files: []File{{Path: filepath.Join(cfg, "systemd", "user", ServiceName+".service"),
			Content: systemdUnit(systemdQuote(o.Scanfreed), " --state-dir "+systemdQuote(o.StateDir), false), Mode: 0o644}},
		Commands: [][]string{
			{"systemctl", "--user", "daemon-reload"},
			{"systemctl", "--user", "enable", "--now", ServiceName + ".service"},
		},
		Logs: LogsAt(o),
	}
	if o.Tray != "" {
		p.Files = append(p.Files, File{Path: filepath.Join(cfg, "autostart", "scanfree-tray.desktop"), Mode: 0o644,
			Content: autostartEntry(desktopQuote(o.Tray) + " --state-dir " + desktopQuote(o.StateDir))})
	}
	return p
}

// systemdUnit is scanfreed's systemd user unit: exe (quoted) run with
// args. trustCA first makes the user's browsers trust her local CA (a
// package's unit, which no one ran `certs install` for; a failure there
// does not keep the daemon from starting).
func systemdUnit(exe, args string, trustCA bool) string {
	pre := ""
	if trustCA {
		pre = "ExecStartPre=-" + exe + " certs install --system=no\n"
	}
	return `[Unit]
Description=scanfree daemon: scan-free web login on this desktop
Documentation=https://github.com/scanfree/scanfree
After=graphical-session.target

[Service]
Type=simple
` + pre + `ExecStart=` + exe + ` run` + args + `
Restart=on-failure
RestartSec=5

[Install]
WantedBy=default.target
`
}

// autostartEntry is the tray's XDG autostart entry running exec.
func autostartEntry(exec string) string {
	return `[Desktop Entry]
Type=Application
Name=scanfree
Comment=scan-free web login: status and confirmations
Exec=` + exec + `
Terminal=false
X-GNOME-Autostart-enabled=true
`
}

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// launchAgent renders a LaunchAgent that runs args at login.
func launchAgent(label string, args []string, keepAlive bool, log string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + xmlText(label) + `</string>
	<key>ProgramArguments</key>
	<array>
`)
	for _, a := range args {
		b.WriteString("\t\t<string>" + xmlText(a) + "</string>\n")
	}
	b.WriteString(`	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>ProcessType</key>
	<string>Interactive</string>
`)
	if keepAlive {
		b.WriteString("\t<key>KeepAlive</key>\n\t<true/>\n")
	}
	if log != "" {
		b.WriteString("\t<key>StandardOutPath</key>\n\t<string>" + xmlText(log) + "</string>\n")
		b.WriteString("\t<key>StandardErrorPath</key>\n\t<string>" + xmlText(log) + "</string>\n")
	}
	b.WriteString("</dict>\n</plist>\n")
	return b.String()
}

// darwinPlan: LaunchAgents in the user's domain (never LaunchDaemons: the
// dialog needs the user's session).
func darwinPlan(o Options) Plan {
	dir := filepath.Join(o.Home, "Library", "LaunchAgents")
	daemon := filepath.Join(dir, "dev.scanfree.scanfreed.plist")
	p := Plan{
		Files: []File{{Path: daemon, Mode: 0o644,
			Content: launchAgent("dev.scanfree.scanfreed", []string{o.Scanfreed, "run", "--state-dir", o.StateDir}, true, LogsAt(o))}},
		Commands: [][]string{{"mkdir", "-p", filepath.Dir(LogsAt(o))}, {"launchctl", "load", "-w", daemon}},
		Logs:     LogsAt(o),
	}
	if o.Tray != "" {
		tray := filepath.Join(dir, "dev.scanfree.tray.plist")
		p.Files = append(p.Files, File{Path: tray, Mode: 0o644,
			Content: launchAgent("dev.scanfree.tray", []string{o.Tray, "--state-dir", o.StateDir}, false, "")})
		p.Commands = append(p.Commands, []string{"launchctl", "load", "-w", tray})
	}
	return p
}

// runKey is where Windows starts a user's programs at login.
const runKey = `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`

// windowsQuote quotes one argument for a Windows command line.
func windowsQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// windowsPlan: Run entries in the user's registry hive. A service under
// the SCM runs in session 0, where no dialog can be shown.
func windowsPlan(o Options) Plan {
	daemonCmd := windowsQuote(o.Scanfreed) + " run --state-dir " + windowsQuote(o.StateDir) + " --log-file " + windowsQuote(LogsAt(o))
	p := Plan{
		Commands: [][]string{
			{"reg", "add", runKey, "/v", ServiceName, "/t", "REG_SZ", "/d", daemonCmd, "/f"},
		},
		Logs: LogsAt(o),
	}
	if o.Tray != "" {
		p.Commands = append(p.Commands, []string{"reg", "add", runKey, "/v", "scanfree-tray", "/t", "REG_SZ", "/d",
			windowsQuote(o.Tray) + " --state-dir " + windowsQuote(o.StateDir), "/f"})
	}
	return p
}
