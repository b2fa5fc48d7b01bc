package cli

import (
	"strings"
	"testing"

	"github.com/scanfree/scanfree/daemon/control"
)

// TestPrintStatusKey: status says where the proof key lives and what a
// copy of the state directory would take.
func TestPrintStatusKey(t *testing.T) {
	tests := []struct {
		name string
		st   control.Status
		want []string
	}{
		{"key file", control.Status{KeyProtection: "software"}, []string{"key:        software (dpop-key.pem", "a copy of that folder works elsewhere"}},
		{"login keychain", control.Status{KeyProtection: "software", KeyInKeychain: true},
			[]string{"software, in the login keychain", "Secure Enclave needs a signed app", "carries no key"}},
		{"keychain refused it", control.Status{KeyProtection: "software", KeychainSkipped: "store dpop-key-1 in the OS keyring: denied"},
			[]string{"dpop-key.pem", "the login keychain did not take it (store dpop-key-1 in the OS keyring: denied)"}},
		{"verified TPM key", control.Status{KeyProtection: "tpm", KeyVerified: "tpm"}, []string{"key:        tpm (held by this computer's TPM, which the backend verified"}},
		{"verified platform key", control.Status{KeyProtection: "platform", KeyVerified: "tpm"}, []string{"Platform Crypto Provider in this computer's TPM, which the backend verified"}},
		{"unverified platform key", control.Status{KeyProtection: "platform", KeyVerified: "software"}, []string{"the backend has not verified it and records it as software"}},
		{"unusable", control.Status{KeyProtection: "software", KeyInKeychain: true, KeyProblem: "gone from the keychain"},
			[]string{"key:        unusable: gone from the keychain"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			printStatus(&b, tt.st)
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("status lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}
