//go:build !windows

package daemon

import "github.com/gen2brain/beeep"

// notify shows a desktop notification (DBus on Linux, osascript on macOS).
func notify(title, msg string) error { return beeep.Notify(title, msg, "") }
