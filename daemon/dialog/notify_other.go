//go:build !windows && !linux

package dialog

import "github.com/gen2brain/beeep"

// Notify shows a desktop notification (osascript on macOS).
func Notify(title, msg string) error { return beeep.Notify(title, msg, "") }
