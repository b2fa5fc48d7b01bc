//go:build !linux

package tray

import (
	"context"
	"errors"
)

// checkBus: only Linux trays live on DBus.
func checkBus() error { return nil }

// waitExported: elsewhere the item exists once Run called ready.
func waitExported(context.Context) error { return nil }

// notify: no notifications outside Linux yet; the failure is in the log.
func notify(string, string) error {
	return errors.New("desktop notifications are not supported on this system yet")
}

// hostMissing: elsewhere the system's tray always shows the icon.
func hostMissing() string { return "" }
