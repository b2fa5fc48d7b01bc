//go:build !linux

package tray

// checkBus: only Linux trays live on DBus.
func checkBus() error { return nil }
