//go:build !linux && !darwin && !windows

package certs

const (
	certutilHelp    = "the NSS tools package"
	systemStoreName = "system CA certificates"
)

func sharedNSSDB() string { return "" }

func ensureNSSDB(string) error { return nil }

func systemAllowed() (bool, string) {
	return false, "not supported on this OS; pass --system=yes to try"
}
