package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"

	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestNoPrivateKeyInBinaries: no binary ships a private key, so no two
// installs can share one.
func TestNoPrivateKeyInBinaries(t *testing.T) {
	for _, pkg := range []string{"./cmd/scanfreed", "./cmd/scanfree-server", "./cmd/scanfree-tray", "./cmd/scanfree-demo"} {
		data, err := os.ReadFile(testutil.Build(t, pkg))
		if err != nil {
			t.Fatal(err)
		}
		for i := bytes.Index(data, []byte("-----BEGIN")); i >= 0; {
			if block, _ := pem.Decode(data[i:]); block != nil {
				if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
					t.Errorf("%s contains a PKCS#8 private key", pkg)
				}
				if _, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
					t.Errorf("%s contains an EC private key", pkg)
				}
				if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
					t.Errorf("%s contains an RSA private key", pkg)
				}
			}
			next := bytes.Index(data[i+1:], []byte("-----BEGIN"))
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
}
