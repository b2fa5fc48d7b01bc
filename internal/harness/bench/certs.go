package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"time"

	"github.com/scanfree/scanfree/certs"
)

// Certs measures creating a CA and leaf, and a full TLS handshake against
// our name-constrained chain beside a plain self-signed P-256 leaf.
func Certs(ctx context.Context, w io.Writer, d time.Duration) error {
	create := Run(ctx, "create CA + leaf", 1, 1<<20, d, func(context.Context, int) error {
		root, key, err := certs.NewRoot(certs.DefaultDomain, time.Now())
		if err != nil {
			return err
		}
		_, _, err = certs.NewLeaf(root, key, certs.DefaultDomain, time.Now())
		return err
	})
	Print(w, "local CA creation", "", []Result{create})

	root, rootKey, err := certs.NewRoot(certs.DefaultDomain, time.Now())
	if err != nil {
		return err
	}
	leaf, leafKey, err := certs.NewLeaf(root, rootKey, certs.DefaultDomain, time.Now())
	if err != nil {
		return err
	}
	ours := tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: leafKey, Leaf: leaf}
	ourPool := x509.NewCertPool()
	ourPool.AddCert(root)

	plain, plainPool, err := selfSigned()
	if err != nil {
		return err
	}
	var rows []Result
	for _, s := range []struct {
		name string
		cert tls.Certificate
		pool *x509.CertPool
	}{{"self-signed P-256 leaf", plain, plainPool}, {"scanfree chain", ours, ourPool}} {
		addr, stop, err := tlsEcho(s.cert)
		if err != nil {
			return err
		}
		cfg := &tls.Config{RootCAs: s.pool, ServerName: certs.DefaultDomain} // no session cache: full handshakes
		rows = append(rows, Run(ctx, s.name, 1, 1<<20, d, func(context.Context, int) error {
			c, err := tls.Dial("tcp", addr, cfg)
			if err != nil {
				return err
			}
			return c.Close()
		}))
		stop()
	}
	Print(w, "TLS handshake (new connection, full handshake, verify)", "self-signed P-256 leaf", rows)
	return nil
}

func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: certs.DefaultDomain},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), DNSNames: []string{certs.DefaultDomain},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}, pool, nil
}

// tlsEcho accepts TLS connections and completes their handshakes.
func tlsEcho(cert tls.Certificate) (string, func(), error) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		return "", nil, fmt.Errorf("listen: %w", err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) { c.(*tls.Conn).Handshake(); c.Close() }(c)
		}
	}()
	return ln.Addr().String(), func() { ln.Close() }, nil
}
