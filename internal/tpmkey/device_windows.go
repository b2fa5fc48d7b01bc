package tpmkey

import (
	"errors"

	"github.com/google/go-tpm/tpm2/transport"
)

// openDevice refuses: Windows reaches its TPM through TBS or the Platform
// Crypto Provider, which this package does not use yet; a desktop there
// keeps its key in software.
func openDevice(string) (transport.TPMCloser, error) {
	return nil, errors.New("TPM devices are not used on Windows yet (the key stays in software)")
}
