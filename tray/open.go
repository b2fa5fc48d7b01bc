package tray

import (
	"fmt"
	"net/url"
	"os/exec"
	"runtime"
)

// openURL opens an http(s) URL in the default browser. Anything else
// (file:, javascript:, a program's own scheme) is refused: the system's
// opener would hand it to whatever is registered for it.
func openURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("will not open %q: not an http(s) page", raw)
	}
	url := u.String()
	switch runtime.GOOS {
	case "windows":
		return exec.Command("rundll32", "url.dll,FileProtocolHandler", url).Start()
	case "darwin":
		return exec.Command("open", url).Start()
	default:
		return exec.Command("xdg-open", url).Start()
	}
}

// openReport opens a text file this tray wrote (the diagnostics report,
// About) with the desktop's viewer for text. openURL refuses files: a
// page's link must never open one; this path is the tray's own.
func openReport(path string) error {
	switch runtime.GOOS {
	case "windows":
		return exec.Command("notepad", path).Start()
	case "darwin":
		return exec.Command("open", "-t", path).Start()
	default:
		return exec.Command("xdg-open", path).Start()
	}
}
