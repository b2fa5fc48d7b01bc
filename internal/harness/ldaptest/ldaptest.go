// Package ldaptest runs a real OpenLDAP slapd for a test: its own config
// and database in a temporary directory, LDAPS on a free loopback port
// with a certificate from a CA made for the test, stopped (and its files
// removed) when the test ends.
package ldaptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scanfree/scanfree/internal/harness/system"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// Base is the directory's suffix; People and Groups hold the entries.
const (
	Base    = "dc=example,dc=org"
	People  = "ou=people," + Base
	Groups  = "ou=groups," + Base
	AdminDN = "cn=admin," + Base
	AdminPW = "admin-secret-pw"
)

// Server is one test's slapd.
type Server struct {
	t      testing.TB
	dir    string
	Port   int    // LDAPS
	Host   string // 127.0.0.1:Port
	Plain  string // 127.0.0.1:port of plain LDAP (StartTLS or, to loopback, none)
	CAFile string // PEM of the CA that signed slapd's certificate
	ca     *x509.CertPool
	proc   *testutil.Proc
}

// Start starts slapd with an empty directory holding ou=people and
// ou=groups. Without slapd it skips t, or fails it under
// SCANFREE_REQUIRE_E2E=1 (.ci/run installs it).
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/slapd"); err != nil {
		msg := "LDAP tests need OpenLDAP's slapd: apt-get install slapd ldap-utils (see .ci/run)"
		if testutil.RequireE2E() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	s := &Server{t: t, dir: dir, CAFile: filepath.Join(dir, "ca.pem")}
	s.writeCerts()
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile %[1]s/slapd.pid
TLSCertificateFile %[1]s/cert.pem
TLSCertificateKeyFile %[1]s/key.pem
database mdb
suffix "%[2]s"
rootdn "%[3]s"
rootpw %[4]s
directory %[1]s/db
overlay memberof
`, dir, Base, AdminDN, AdminPW)
	if err := os.WriteFile(filepath.Join(dir, "slapd.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	port, err := system.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	plain, err := system.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s.Port, s.Host, s.Plain = port, "127.0.0.1:"+strconv.Itoa(port), "127.0.0.1:"+strconv.Itoa(plain)
	s.Start()
	s.Add(Base, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Example"}})
	s.Add(People, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	s.Add(Groups, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}})
	return s
}

// Start starts (or restarts) slapd and waits until it answers.
func (s *Server) Start() {
	s.t.Helper()
	// -d keeps slapd in the foreground, so the test owns the process.
	s.proc = testutil.Start(s.t, nil, "/usr/sbin/slapd", "-f", filepath.Join(s.dir, "slapd.conf"), "-h", "ldaps://"+s.Host+"/ ldap://"+s.Plain+"/", "-d", "0")
	testutil.Eventually(s.t, 15*time.Second, "slapd answers on "+s.Host, func() bool {
		c, err := s.dial()
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// Stop stops slapd (a directory gone down).
func (s *Server) Stop() {
	s.t.Helper()
	s.proc.Stop(5 * time.Second)
}

func (s *Server) dial() (*ldap.Conn, error) {
	return ldap.DialURL("ldaps://"+s.Host, ldap.DialWithTLSConfig(&tls.Config{RootCAs: s.ca, ServerName: "127.0.0.1"}),
		ldap.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}))
}

// admin runs fn bound as the directory's root.
func (s *Server) admin(fn func(c *ldap.Conn) error) {
	s.t.Helper()
	c, err := s.dial()
	if err != nil {
		s.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(AdminDN, AdminPW); err != nil {
		s.t.Fatal(err)
	}
	if err := fn(c); err != nil {
		s.t.Fatal(err)
	}
}

// Add adds entry dn with attrs.
func (s *Server) Add(dn string, attrs map[string][]string) {
	s.t.Helper()
	r := ldap.NewAddRequest(dn, nil)
	for k, v := range attrs {
		r.Attribute(k, v)
	}
	s.admin(func(c *ldap.Conn) error { return c.Add(r) })
}

// AddPerson adds uid=uid under People with password pw, and returns its DN.
func (s *Server) AddPerson(uid, name, pw string) string {
	s.t.Helper()
	dn := "uid=" + uid + "," + People
	s.Add(dn, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {uid}, "cn": {name}, "sn": {name},
		"mail": {uid + "@example.org"}, "userPassword": {pw}})
	return dn
}

// AddGroup adds cn=name under Groups with members (DNs).
func (s *Server) AddGroup(name string, members ...string) {
	s.t.Helper()
	s.Add("cn="+name+","+Groups, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {name}, "member": members})
}

// Rename gives uid's entry the new uid newUID (a new DN, same entryUUID).
func (s *Server) Rename(uid, newUID string) {
	s.t.Helper()
	s.admin(func(c *ldap.Conn) error {
		return c.ModifyDN(ldap.NewModifyDNRequest("uid="+uid+","+People, "uid="+newUID, true, ""))
	})
}

// Delete deletes entry dn.
func (s *Server) Delete(dn string) {
	s.t.Helper()
	s.admin(func(c *ldap.Conn) error { return c.Del(ldap.NewDelRequest(dn, nil)) })
}

// Modify replaces attribute attr of dn with values.
func (s *Server) Modify(dn, attr string, values ...string) {
	s.t.Helper()
	r := ldap.NewModifyRequest(dn, nil)
	r.Replace(attr, values)
	s.admin(func(c *ldap.Conn) error { return c.Modify(r) })
}

// writeCerts makes a CA and slapd's certificate for 127.0.0.1.
func (s *Server) writeCerts() {
	s.t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "scanfree test LDAP CA"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		s.t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		s.t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	for name, b := range map[string][]byte{
		"ca.pem":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		"cert.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		"key.pem":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	} {
		if err := os.WriteFile(filepath.Join(s.dir, name), b, 0o600); err != nil {
			s.t.Fatal(err)
		}
	}
	s.ca = x509.NewCertPool()
	s.ca.AddCert(ca)
}

// EntryUUID returns entry dn's entryUUID (its stable id).
func (s *Server) EntryUUID(dn string) string {
	s.t.Helper()
	var id string
	s.admin(func(c *ldap.Conn) error {
		res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 5, false, "(objectClass=*)", []string{"entryUUID"}, nil))
		if err == nil && len(res.Entries) == 1 {
			id = res.Entries[0].GetAttributeValue("entryUUID")
		}
		return err
	})
	return id
}

// ConfigYAML is a scanfree-server config file naming s as connector id
// "corp" ("Corp directory"), its service password in pwFile.
func (s *Server) ConfigYAML(pwFile string) string {
	return fmt.Sprintf(`connectors:
  - id: corp
    type: ldap
    name: Corp directory
    config:
      host: %s
      root_ca: %s
      bind_dn: %s
      bind_pw_file: %s
      user_search:
        base_dn: %s
        filter: (objectClass=inetOrgPerson)
      group_search:
        base_dn: %s
`, s.Host, s.CAFile, AdminDN, pwFile, People, Groups)
}

// WriteConfig writes ConfigYAML and the service password into dir and
// returns the config file's path.
func (s *Server) WriteConfig(dir string) string {
	s.t.Helper()
	pw, cfg := filepath.Join(dir, "bind-pw"), filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(pw, []byte(AdminPW), 0o600); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(s.ConfigYAML(pw)), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return cfg
}
