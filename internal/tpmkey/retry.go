package tpmkey

import (
	"encoding/binary"
	"time"

	"github.com/google/go-tpm/tpm2/transport"
)

// retrying sends a command again while the TPM answers that it could not
// start it now (TPM_RC_RETRY, TPM_RC_YIELDED, TPM_RC_TESTING: warnings
// after which the command had no effect, so the same bytes are sent
// again). A TPM may say so for any command; swtpm does for ECC work such
// as activating a credential with a P-384 endorsement key.
type retrying struct{ tpm transport.TPM }

// retryingCloser is retrying for a TPM the caller closes.
type retryingCloser struct {
	retrying
	c transport.TPMCloser
}

func (r retryingCloser) Close() error { return r.c.Close() }

// The warnings that ask for the same command again.
const (
	rcYielded = 0x908
	rcTesting = 0x90a
	rcRetry   = 0x922
)

// retries bounds the resends: a TPM that keeps saying retry is broken.
const retries = 20

func (r retrying) Send(cmd []byte) ([]byte, error) {
	for i := 0; ; i++ {
		rsp, err := r.tpm.Send(cmd)
		if err != nil || len(rsp) < 10 || i == retries {
			return rsp, err
		}
		switch binary.BigEndian.Uint32(rsp[6:10]) {
		case rcYielded, rcTesting, rcRetry:
			time.Sleep(time.Duration(i+1) * 5 * time.Millisecond) // let the TPM finish what kept it
		default:
			return rsp, nil
		}
	}
}
