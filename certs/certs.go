// Package certs gives the daemon its TLS identity for the loopback domain
// without any vendor shipping a shared private key: each install creates
// its own ECDSA P-256 root whose critical X.509 Name Constraints permit only
// the configured domain (not its subdomains), 127.0.0.0/8 and ::1, and signs a
// short-lived leaf for those names with it. A stolen root key can mint
// nothing that validates for any other name.
//
// Files live in the state dir: root.pem, root-key.pem, leaf.pem,
// leaf-key.pem (keys mode 0600), all written atomically. A vendor may
// instead configure a certificate and key of its own (see LoadVendor).
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"time"
)

// Lifetimes and the renewal window.
const (
	RootValidity = 10 * 365 * 24 * time.Hour
	LeafValidity = 90 * 24 * time.Hour
	RenewBefore  = 30 * 24 * time.Hour
	// clockSkew backdates NotBefore so a slightly slow client clock accepts a
	// fresh certificate; it counts against LeafValidity.
	clockSkew = 5 * time.Minute
)

// DefaultDomain is the loopback domain web pages use to reach the daemon.
const DefaultDomain = "scanfree.localhost"

// File names in the state dir.
const (
	RootCertFile = "root.pem"
	RootKeyFile  = "root-key.pem"
	LeafCertFile = "leaf.pem"
	LeafKeyFile  = "leaf-key.pem"
)

// Paths are the files of one install.
type Paths struct {
	RootCert, RootKey, LeafCert, LeafKey string
}

// PathsIn returns the file paths in state dir dir.
func PathsIn(dir string) Paths {
	return Paths{
		RootCert: filepath.Join(dir, RootCertFile),
		RootKey:  filepath.Join(dir, RootKeyFile),
		LeafCert: filepath.Join(dir, LeafCertFile),
		LeafKey:  filepath.Join(dir, LeafKeyFile),
	}
}

// permittedIPs are the address ranges of the name constraints and leaf.
var permittedIPs = []*net.IPNet{
	{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)},
	{IP: net.IPv6loopback, Mask: net.CIDRMask(128, 128)},
}

// ValidateDomain checks a configured loopback domain name.
func ValidateDomain(domain string) error {
	if domain == "" || len(domain) > 253 || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.ContainsAny(domain, "*/: ") || net.ParseIP(domain) != nil || strings.ToLower(domain) != domain {
		return fmt.Errorf("domain %q: want a lowercase host name such as %s", domain, DefaultDomain)
	}
	return nil
}

// NewRoot creates a root CA for domain. Its name constraints are critical
// and its only extended key usage is server authentication, so it cannot
// vouch for e-mail, code or client identities either.
func NewRoot(domain string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	if err := ValidateDomain(domain); err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate root key: %w", err)
	}
	dnsNames := names(domain)
	tmpl := &x509.Certificate{
		SerialNumber:                serial(),
		Subject:                     pkix.Name{Organization: []string{"scanfree local CA"}, CommonName: "scanfree local CA for " + domain + " " + shortID()},
		NotBefore:                   now.Add(-clockSkew),
		NotAfter:                    now.Add(RootValidity),
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:                 []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLenZero:              true, // no intermediates
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         dnsNames,
		// A DNS constraint also admits every subdomain; the leading dot
		// excludes those (RFC 5280 leaves it to URI and e-mail names, but
		// Go, OpenSSL, NSS and Chrome read it as "subdomains only"), so the
		// root vouches for the daemon's one name and nothing else local.
		ExcludedDNSDomains: []string{"." + domain},
		PermittedIPRanges:  permittedIPs,
		// No name of these kinds may appear under this root at all.
		PermittedEmailAddresses: []string{"invalid"},
		PermittedURIDomains:     []string{"invalid"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create root certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse root certificate: %w", err)
	}
	return cert, key, nil
}

// NewLeaf signs a leaf for domain, 127.0.0.1 and ::1.
func NewLeaf(root *x509.Certificate, rootKey *ecdsa.PrivateKey, domain string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate leaf key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: domain},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(-clockSkew).Add(LeafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names(domain),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, &key.PublicKey, rootKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sign leaf certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse leaf certificate: %w", err)
	}
	return cert, key, nil
}

// names are the DNS names of the constraints and the leaf: the daemon's
// domain only. "localhost" would let this install's root key vouch for
// every *.localhost development site on the machine; the page reaches the
// daemon by its domain, and tools by 127.0.0.1 or ::1 (IP SANs).
func names(domain string) []string {
	return []string{domain}
}

// RenewalDue reports whether leaf has less than RenewBefore left at now.
func RenewalDue(leaf *x509.Certificate, now time.Time) bool {
	return leaf.NotAfter.Sub(now) < RenewBefore
}

// Fingerprint is the SHA-256 of a certificate's DER, in hex.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// shortID tells installs apart in trust-store listings.
func shortID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// checkRoot reports why c is not a root this package made.
func checkRoot(c *x509.Certificate) error {
	switch {
	case !c.IsCA || !c.BasicConstraintsValid:
		return errors.New("it is not a CA certificate")
	case !c.PermittedDNSDomainsCritical || len(c.PermittedDNSDomains) == 0:
		return errors.New("it has no critical name constraints")
	case c.CheckSignatureFrom(c) != nil:
		return errors.New("it is not self-signed")
	}
	return nil
}
