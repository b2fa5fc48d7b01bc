//go:build !windows && !linux

package daemon

import "github.com/gen2brain/beeep"

// notify shows a desktop notification (osascript on macOS).
func notify(title, msg string) error { return beeep.Notify(title, msg, "") }
