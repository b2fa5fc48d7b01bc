//go:build !linux

package tray

import "context"

// checkBus: only Linux trays live on DBus.
func checkBus() error { return nil }

// waitExported: elsewhere the item exists once Run called ready.
func waitExported(context.Context) error { return nil }
