package certs

const (
	certutilHelp    = "NSS tools for Firefox"
	systemStoreName = "Windows current-user Root store"
)

// sharedNSSDB: Chrome and Edge use the Windows store; only Firefox profiles
// have NSS databases, and those are found by glob.
func sharedNSSDB() string { return "" }

func ensureNSSDB(string) error { return nil }

// systemAllowed: the current user's Root store needs no administrator;
// Windows shows its own confirmation.
func systemAllowed() (bool, string) { return true, "" }
