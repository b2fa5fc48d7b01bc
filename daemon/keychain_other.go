//go:build !darwin

package daemon

import "github.com/scanfree/scanfree/daemon/idp"

// keychain is nil: Linux and Windows keep a software proof key in the
// state directory, beside the TPM's or the Platform Crypto Provider's
// keys, which are what they are meant to use.
func keychain(string) idp.Keychain { return nil }
