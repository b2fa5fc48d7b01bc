package daemon

import (
	"github.com/scanfree/scanfree/daemon/creds"
	"github.com/scanfree/scanfree/daemon/idp"
)

// keychain holds a new software proof key in the login keychain. The
// Secure Enclave would keep the key from ever leaving the Mac, but a key
// there that outlives the process needs a keychain access group, which
// macOS grants only to apps signed with a provisioning profile
// (errSecMissingEntitlement otherwise); scanfreed is a plain binary.
func keychain(stateDir string) idp.Keychain { return creds.NewItem(stateDir, "dpop-key") }
