package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/testutil"
)

var quiet = slog.New(slog.DiscardHandler)

// clock is a movable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	c, k, err := NewRoot(DefaultDomain, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

func TestRootNameConstraintsCritical(t *testing.T) {
	root, _ := newCA(t)
	oidNameConstraints := asn1.ObjectIdentifier{2, 5, 29, 30}
	found := false
	for _, ext := range root.Extensions {
		if ext.Id.Equal(oidNameConstraints) {
			found = true
			if !ext.Critical {
				t.Fatal("name constraints extension is not critical")
			}
		}
	}
	if !found {
		t.Fatal("root has no name constraints extension")
	}
	if got := strings.Join(root.PermittedDNSDomains, ","); got != "scanfree.localhost" {
		t.Fatalf("permitted DNS = %s, want the daemon's domain only", got)
	}
	if got := strings.Join(root.ExcludedDNSDomains, ","); got != ".scanfree.localhost" {
		t.Fatalf("excluded DNS = %s, want the domain's subdomains", got)
	}
	var ips []string
	for _, n := range root.PermittedIPRanges {
		ips = append(ips, n.String())
	}
	if strings.Join(ips, ",") != "127.0.0.0/8,::1/128" {
		t.Fatalf("permitted IPs = %v", ips)
	}
	if !root.IsCA || !root.MaxPathLenZero || root.MaxPathLen != 0 {
		t.Fatal("root may sign intermediates")
	}
	if pub, ok := root.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Fatal("root key is not ECDSA P-256")
	}
}

// forge signs a leaf for arbitrary names with our root, as someone who
// stole the root key would.
func forge(t *testing.T, root *x509.Certificate, key *ecdsa.PrivateKey, dns []string, ips []net.IP) *x509.Certificate {
	t.Helper()
	lk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "forged"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: dns, IPAddresses: ips}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, &lk.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func TestForeignNamesRejected(t *testing.T) {
	root, key := newCA(t)
	pool := x509.NewCertPool()
	pool.AddCert(root)
	tests := []struct {
		name string
		dns  []string
		ips  []net.IP
		host string
	}{
		{"example.com", []string{"example.com"}, nil, "example.com"},
		{"suffix trick", []string{"scanfree.localhost.example.com"}, nil, "scanfree.localhost.example.com"},
		{"public IP", nil, []net.IP{net.ParseIP("93.184.216.34")}, "93.184.216.34"},
		{"LAN IP", nil, []net.IP{net.ParseIP("192.168.1.1")}, "192.168.1.1"},
		{"allowed plus foreign", []string{"scanfree.localhost", "bank.example"}, nil, "scanfree.localhost"},
		{"another local dev site", []string{"idp.localhost"}, nil, "idp.localhost"},
		{"localhost itself", []string{"localhost"}, nil, "localhost"},
		{"a subdomain of the daemon's", []string{"evil.scanfree.localhost"}, nil, "evil.scanfree.localhost"},
	}
	dir := t.TempDir()
	rootFile := filepath.Join(dir, "root.pem")
	if err := writeCert(rootFile, root); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := forge(t, root, key, tt.dns, tt.ips)
			_, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: tt.host})
			if err == nil {
				t.Fatal("x509.Verify accepted a leaf outside the name constraints")
			}
			if testutil.RequireE2E() || hasOpenSSL() {
				leafFile := filepath.Join(dir, "leaf-"+strings.ReplaceAll(tt.name, " ", "-")+".pem")
				writeCert(leafFile, leaf)
				out, err := exec.Command("openssl", "verify", "-CAfile", rootFile, leafFile).CombinedOutput()
				if err == nil {
					t.Fatalf("openssl verify accepted it: %s", out)
				}
				if !strings.Contains(string(out), "name constraint") && !strings.Contains(string(out), "subtree violation") {
					t.Fatalf("openssl refused for another reason: %s", out)
				}
			}
		})
	}
}

func hasOpenSSL() bool { _, err := exec.LookPath("openssl"); return err == nil }

func TestLeafVerifiesForEveryPermittedName(t *testing.T) {
	root, key := newCA(t)
	leaf, _, err := NewLeaf(root, key, DefaultDomain, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if leaf.NotAfter.Sub(leaf.NotBefore) > 90*24*time.Hour {
		t.Fatalf("leaf valid for %v, more than 90 days", leaf.NotAfter.Sub(leaf.NotBefore))
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	dir := t.TempDir()
	writeCert(filepath.Join(dir, "root.pem"), root)
	writeCert(filepath.Join(dir, "leaf.pem"), leaf)
	for _, name := range []string{"scanfree.localhost", "127.0.0.1", "::1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if hasOpenSSL() {
			flag := "-verify_hostname"
			if net.ParseIP(name) != nil {
				flag = "-verify_ip"
			}
			if out, err := exec.Command("openssl", "verify", "-CAfile", filepath.Join(dir, "root.pem"), flag, name, filepath.Join(dir, "leaf.pem")).CombinedOutput(); err != nil {
				t.Errorf("openssl verify %s: %s", name, out)
			}
		}
	}
}

func TestRenewal(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Now()}
	m := NewManager(dir, DefaultDomain, c.now, quiet)
	res, err := m.Ensure()
	if err != nil || !res.CreatedCA || !res.IssuedLeaf {
		t.Fatalf("first Ensure: %+v %v", res, err)
	}
	first := m.Leaf()

	// Serve TLS with the manager, as the daemon does.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: m.GetCertificate})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { conn.(*tls.Conn).Handshake(); conn.Close() }()
		}
	}()
	ca, _ := LoadCA(dir)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	served := func(at time.Time) *x509.Certificate {
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: DefaultDomain, Time: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0]
	}
	if served(c.now()).SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Fatal("listener does not serve the leaf")
	}

	c.add(59 * 24 * time.Hour) // 31 days left: not due
	if res, err := m.Ensure(); err != nil || res.IssuedLeaf || res.CreatedCA {
		t.Fatalf("Ensure with 31 days left: %+v %v", res, err)
	}
	if m.Leaf().SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Fatal("leaf replaced before it was due")
	}
	c.add(2 * 24 * time.Hour) // 29 days left: due
	res, err = m.Ensure()
	if err != nil || !res.IssuedLeaf || res.CreatedCA || !strings.Contains(res.Reason, "renewal due") {
		t.Fatalf("Ensure with 29 days left: %+v %v", res, err)
	}
	renewed := served(c.now())
	if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 || !renewed.NotAfter.After(first.NotAfter) {
		t.Fatal("running listener still serves the old leaf")
	}
	// A restart loads the renewed leaf from disk.
	m2 := NewManager(dir, DefaultDomain, c.now, quiet)
	if res, err := m2.Ensure(); err != nil || res.IssuedLeaf || m2.Leaf().SerialNumber.Cmp(renewed.SerialNumber) != 0 {
		t.Fatalf("reload: %+v %v", res, err)
	}
}

func TestTwoInstallsShareNoKey(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		if _, err := NewManager(d, DefaultDomain, nil, quiet).Ensure(); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{RootKeyFile, LeafKeyFile, RootCertFile} {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if string(x) == string(y) {
			t.Fatalf("%s is the same in two installs", f)
		}
	}
	for _, f := range []string{RootKeyFile, LeafKeyFile} {
		fi, _ := os.Stat(filepath.Join(a, f))
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	if matches, _ := filepath.Glob(filepath.Join(a, ".*tmp*")); len(matches) != 0 {
		t.Fatalf("temporary files left behind: %v", matches)
	}
}

func TestDamagedAndForeignFiles(t *testing.T) {
	other, _, _ := NewRoot("other.localhost", time.Now())
	otherLeafOnly := func() []byte {
		r, k := newCA(t)
		l, _, _ := NewLeaf(r, k, DefaultDomain, time.Now())
		return pemCert(l)
	}()
	tests := []struct {
		name   string
		file   string
		damage func(path string)
		want   string
	}{
		{"garbage root", RootCertFile, func(p string) { os.WriteFile(p, []byte("garbage"), 0o644) }, "damaged"},
		{"leaf as root", RootCertFile, func(p string) { os.WriteFile(p, otherLeafOnly, 0o644) }, "not a scanfree root"},
		{"other root", RootCertFile, func(p string) { os.WriteFile(p, pemCert(other), 0o644) }, "does not belong"},
		{"garbage key", RootKeyFile, func(p string) {
			os.WriteFile(p, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600)
		}, "damaged"},
		{"readable key", RootKeyFile, func(p string) { os.Chmod(p, 0o644) }, "chmod 600"},
		{"missing key", RootKeyFile, func(p string) { os.Remove(p) }, "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := NewManager(dir, DefaultDomain, nil, quiet).Ensure(); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tt.file)
			tt.damage(path)
			_, err := NewManager(dir, DefaultDomain, nil, quiet).Ensure()
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "scanfreed certs") && tt.want != "chmod 600" {
				t.Fatalf("Ensure = %v; want an error naming %s, saying %q and the fix", err, path, tt.want)
			}
		})
	}
	t.Run("damaged leaf is reissued", func(t *testing.T) {
		dir := t.TempDir()
		m := NewManager(dir, DefaultDomain, nil, quiet)
		m.Ensure()
		os.WriteFile(filepath.Join(dir, LeafCertFile), []byte("garbage"), 0o644)
		res, err := NewManager(dir, DefaultDomain, nil, quiet).Ensure()
		if err != nil || !res.IssuedLeaf || !strings.Contains(res.Reason, "damaged") {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("domain outside the CA", func(t *testing.T) {
		dir := t.TempDir()
		NewManager(dir, DefaultDomain, nil, quiet).Ensure()
		_, err := NewManager(dir, "login.example.com", nil, quiet).Ensure()
		if err == nil || !strings.Contains(err.Error(), "certs uninstall") {
			t.Fatalf("Ensure for another domain = %v", err)
		}
	})
}

func pemCert(c *x509.Certificate) []byte {
	dir, _ := os.MkdirTemp("", "pem")
	defer os.RemoveAll(dir)
	writeCert(filepath.Join(dir, "c.pem"), c)
	b, _ := os.ReadFile(filepath.Join(dir, "c.pem"))
	return b
}

func TestVendorMode(t *testing.T) {
	dir := t.TempDir()
	m := NewManager(dir, DefaultDomain, nil, quiet)
	if _, err := m.Ensure(); err != nil {
		t.Fatal(err)
	}
	p := PathsIn(dir)
	if _, err := LoadVendor(p.LeafCert, p.LeafKey, DefaultDomain, time.Now()); err != nil {
		t.Fatalf("matching pair: %v", err)
	}
	tests := []struct {
		name, cert, key, domain, want string
	}{
		{"mismatched pair", p.LeafCert, p.RootKey, DefaultDomain, "matching PEM pair"},
		{"missing file", filepath.Join(dir, "nope.pem"), p.LeafKey, DefaultDomain, "nope.pem"},
		{"does not cover", p.LeafCert, p.LeafKey, "localhost.vendor.example", "does not cover"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := LoadVendor(tt.cert, tt.key, tt.domain, time.Now()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadVendor = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := LoadVendor(p.LeafCert, p.LeafKey, DefaultDomain, time.Now().Add(100*24*time.Hour)); err == nil || !strings.Contains(err.Error(), "renew") {
		t.Fatalf("expired vendor certificate: %v", err)
	}
}
