// Package swtpmtest runs Debian's swtpm for a test: a TPM 2.0 with its own
// state directory, manufactured by swtpm_setup with an endorsement key
// certificate from a CA made for the test (swtpm_localca, as a TPM maker
// would), serving the TCG simulator protocol on two loopback ports, and
// stopped when the test ends.
package swtpmtest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"

	"github.com/scanfree/scanfree/internal/harness/testutil"
	"github.com/scanfree/scanfree/internal/tpmkey"
)

// Maker is a TPM maker: the CA that certifies its TPMs' endorsement keys.
type Maker struct {
	dir string
	// Roots is a PEM file of the maker's CA certificates (its root and
	// the issuer of EK certificates): the backend's --tpm-ek-roots.
	Roots string
}

// NewMaker makes a maker whose CA is created with its first TPM. Without
// swtpm it skips t, or fails it under SCANFREE_REQUIRE_E2E=1.
func NewMaker(t testing.TB) *Maker {
	t.Helper()
	testutil.NeedTools(t, "swtpm", "swtpm_setup", "swtpm_localca")
	dir := t.TempDir()
	m := &Maker{dir: dir, Roots: filepath.Join(dir, "roots.pem")}
	write(t, filepath.Join(dir, "localca.conf"), fmt.Sprintf("statedir = %[1]s/ca\nsigningkey = %[1]s/ca/signkey.pem\nissuercert = %[1]s/ca/issuercert.pem\ncertserial = %[1]s/ca/certserial\n", dir))
	write(t, filepath.Join(dir, "setup.conf"), fmt.Sprintf("create_certs_tool = /usr/bin/swtpm_localca\ncreate_certs_tool_config = %[1]s/localca.conf\ncreate_certs_tool_options = /etc/swtpm-localca.options\nactive_pcr_banks = sha256\n", dir))
	if err := os.Mkdir(filepath.Join(dir, "ca"), 0o700); err != nil {
		t.Fatal(err)
	}
	return m
}

func write(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TPM is one running swtpm.
type TPM struct {
	// Addr is the daemon's tpm setting for it: simulator:127.0.0.1:PORT.
	Addr string
	proc *testutil.Proc
}

// Start manufactures a new TPM of m's (its own seeds and EK certificate)
// and starts it.
func (m *Maker) Start(t testing.TB) *TPM {
	t.Helper()
	state := t.TempDir()
	if out, errOut, err := testutil.Run(t.Context(), nil, "", "swtpm_setup", "--tpm2", "--tpmstate", state,
		"--create-ek-cert", "--config", filepath.Join(m.dir, "setup.conf"), "--overwrite"); err != nil {
		t.Fatalf("swtpm_setup: %v\n%s%s", err, out, errOut)
	}
	if _, err := os.Stat(m.Roots); err != nil {
		var roots []byte
		for _, f := range []string{"ca/swtpm-localca-rootca-cert.pem", "ca/issuercert.pem"} {
			b, err := os.ReadFile(filepath.Join(m.dir, f))
			if err != nil {
				t.Fatalf("swtpm_localca made no CA: %v", err)
			}
			roots = append(roots, b...)
		}
		write(t, m.Roots, string(roots))
	}
	port := freePair(t)
	tp := &TPM{Addr: "simulator:127.0.0.1:" + strconv.Itoa(port)}
	tp.proc = testutil.Start(t, nil, "swtpm", "socket", "--tpm2", "--tpmstate", "dir="+state,
		"--server", "type=tcp,bindaddr=127.0.0.1,port="+strconv.Itoa(port),
		"--ctrl", "type=tcp,bindaddr=127.0.0.1,port="+strconv.Itoa(port+1),
		"--flags", "not-need-init,startup-clear")
	testutil.Eventually(t, 10*time.Second, "swtpm listens on "+tp.Addr, func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port+1), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return tp
}

// DropRSAEK deletes the RSA endorsement key's certificate from the TPM
// (with the platform hierarchy, as its maker could), so that the ECC P-384
// one swtpm_setup stores too is the TPM's only EK certificate: a TPM
// certified on ECC alone. The TPM must not be in use.
func (tp *TPM) DropRSAEK(t testing.TB) {
	t.Helper()
	const rsaEKCert = tpm2.TPMHandle(0x01c00002)
	c, err := tpmkey.Open(tp.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pub, err := tpm2.NVReadPublic{NVIndex: rsaEKCert}.Execute(c)
	if err != nil {
		t.Fatalf("swtpm has no RSA EK certificate: %v", err)
	}
	if _, err := (tpm2.NVUndefineSpace{AuthHandle: tpm2.TPMRHPlatform,
		NVIndex: tpm2.NamedHandle{Handle: rsaEKCert, Name: pub.NVName}}).Execute(c); err != nil {
		t.Fatalf("remove the RSA EK certificate: %v", err)
	}
}

// Stop stops the TPM (a computer switched off, or its TPM gone).
func (tp *TPM) Stop() { tp.proc.Stop(5 * time.Second) }

// freePair finds a free loopback port whose next port is free too.
func freePair(t testing.TB) int {
	t.Helper()
	for range 50 {
		a, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := a.Addr().(*net.TCPAddr).Port
		b, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		a.Close()
		if err == nil {
			b.Close()
			return p
		}
	}
	t.Fatal("no two free loopback ports in a row")
	return 0
}
