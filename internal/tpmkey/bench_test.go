package tpmkey_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/dpop"
	"github.com/scanfree/scanfree/internal/harness/swtpmtest"
	"github.com/scanfree/scanfree/internal/tpmkey"
)

// BenchmarkProof signs a DPoP proof, as the daemon does before every
// backend call, with a software key (the baseline) and with a key in
// swtpm (a TPM emulator: a hardware TPM is slower, tens of ms a signature).
func BenchmarkProof(b *testing.B) {
	soft, err := dpop.NewKey()
	if err != nil {
		b.Fatal(err)
	}
	c, err := tpmkey.Open(swtpmtest.NewMaker(b).Start(b).Addr)
	if err != nil {
		b.Fatal(err)
	}
	tk, err := tpmkey.Create(c, filepath.Join(b.TempDir(), "k.tpm"))
	if err != nil {
		b.Fatal(err)
	}
	defer tk.Close()
	inTPM, err := dpop.FromSigner(tk, "tpm")
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range []*dpop.Key{soft, inTPM} {
		b.Run(k.Protection(), func(b *testing.B) {
			for b.Loop() {
				if _, err := k.Proof("POST", "https://idp.example/api/v1/device/authorize", "credential", "nonce", time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
