package certs

import (
	"crypto/tls"
	"fmt"
	"time"
)

// LoadVendor loads a vendor's own certificate and key for domain, e.g. for
// a publicly resolving loopback name. It refuses a pair that does not
// match, does not cover domain, or is not valid at now.
func LoadVendor(certFile, keyFile, domain string, now time.Time) (*tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("vendor certificate %s with key %s: %w; check that tls_cert and tls_key name a matching PEM pair", certFile, keyFile, err)
	}
	leaf := pair.Leaf
	if err := leaf.VerifyHostname(domain); err != nil {
		return nil, fmt.Errorf("vendor certificate %s does not cover %s (it names %v); set domain to one of its names or use another certificate", certFile, domain, leaf.DNSNames)
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("vendor certificate %s is valid only from %s to %s; renew it", certFile, leaf.NotBefore.Format(time.DateOnly), leaf.NotAfter.Format(time.DateOnly))
	}
	return &pair, nil
}
