package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scanfree/scanfree/internal/keyfile"
	"github.com/scanfree/scanfree/internal/periodic"
)

// Manager keeps the daemon's leaf: it creates the CA when there is none,
// issues the leaf when it is missing, damaged or due, and hands the current
// one to a running TLS listener through GetCertificate, so renewal needs no
// restart.
type Manager struct {
	dir    string
	domain string
	now    func() time.Time
	log    *slog.Logger

	mu  sync.Mutex // serialises Ensure
	cur atomic.Pointer[tls.Certificate]
}

// NewManager returns a Manager for state dir dir. It does no I/O.
func NewManager(dir, domain string, now func() time.Time, log *slog.Logger) *Manager {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Manager{dir: dir, domain: domain, now: now, log: log}
}

// Result tells what Ensure did.
type Result struct {
	CreatedCA   bool
	IssuedLeaf  bool
	Reason      string // why the leaf was issued
	LeafExpires time.Time
}

// Ensure makes sure a valid leaf for the domain is on disk and loaded,
// creating the CA first if the state dir has none.
func (m *Manager) Ensure() (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ValidateDomain(m.domain); err != nil {
		return Result{}, err
	}
	var res Result
	now := m.now()
	ca, err := LoadCA(m.dir)
	if errors.Is(err, ErrNoCA) {
		cert, key, err := NewRoot(m.domain, now)
		if err != nil {
			return res, err
		}
		ca = &CA{Cert: cert, Key: key}
		if err := saveCA(m.dir, ca); err != nil {
			return res, fmt.Errorf("create local CA: %w", err)
		}
		res.CreatedCA = true
	} else if err != nil {
		return res, err
	}
	if err := coversDomain(ca.Cert, m.domain); err != nil {
		return res, fmt.Errorf("%s: %w; run `scanfreed certs uninstall` and `scanfreed certs install` to make a CA for it", PathsIn(m.dir).RootCert, err)
	}

	p := PathsIn(m.dir)
	leaf, reason := m.loadLeaf(ca, now)
	if leaf == nil {
		cert, key, err := NewLeaf(ca.Cert, ca.Key, m.domain, now)
		if err != nil {
			return res, err
		}
		if err := keyfile.WriteECKey(p.LeafKey, key); err != nil {
			return res, err
		}
		if err := writeCert(p.LeafCert, cert); err != nil {
			return res, err
		}
		leaf = &tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
		res.IssuedLeaf, res.Reason = true, reason
		m.log.Info("issued TLS leaf", "reason", reason, "expires", cert.NotAfter, "file", p.LeafCert)
	}
	m.cur.Store(leaf)
	res.LeafExpires = leaf.Leaf.NotAfter
	return res, nil
}

// loadLeaf returns the leaf on disk, or nil and why a new one is needed.
func (m *Manager) loadLeaf(ca *CA, now time.Time) (*tls.Certificate, string) {
	p := PathsIn(m.dir)
	cert, err := readCert(p.LeafCert)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "first certificate"
	}
	if err != nil {
		return nil, p.LeafCert + " damaged (" + err.Error() + ")"
	}
	key, err := keyfile.ReadECKey(p.LeafKey)
	if err != nil {
		return nil, p.LeafKey + " missing or damaged (" + err.Error() + ")"
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, p.LeafKey + " does not belong to " + p.LeafCert
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: m.domain, CurrentTime: now}); err != nil {
		return nil, p.LeafCert + " does not verify for " + m.domain + " (" + err.Error() + ")"
	}
	if RenewalDue(cert, now) {
		return nil, fmt.Sprintf("renewal due: %s expires %s", p.LeafCert, cert.NotAfter.Format(time.DateOnly))
	}
	return &tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}, ""
}

// coversDomain reports whether root's constraints permit domain.
func coversDomain(root *x509.Certificate, domain string) error {
	for _, d := range root.PermittedDNSDomains {
		if d == domain || (len(domain) > len(d) && domain[len(domain)-len(d)-1:] == "."+d) {
			return nil
		}
	}
	return fmt.Errorf("the local CA was made for %v, not %s", root.PermittedDNSDomains, domain)
}

// GetCertificate serves the current leaf; use it as tls.Config.GetCertificate.
func (m *Manager) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := m.cur.Load()
	if c == nil {
		return nil, errors.New("no TLS certificate loaded yet")
	}
	return c, nil
}

// Leaf returns the current leaf certificate, or nil before Ensure.
func (m *Manager) Leaf() *x509.Certificate {
	if c := m.cur.Load(); c != nil {
		return c.Leaf
	}
	return nil
}

// Run calls Ensure every interval until ctx is done; failures are logged
// and retried at the next tick, the current leaf staying in service.
func (m *Manager) Run(ctx context.Context, interval time.Duration) {
	periodic.Run(ctx, interval, func() {
		if _, err := m.Ensure(); err != nil {
			m.log.Error("renew TLS leaf", "err", err)
		}
	})
}
