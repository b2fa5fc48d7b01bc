package certs

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	"github.com/scanfree/scanfree/internal/keyfile"
	"github.com/smallstep/truststore"
)

// trustRecordFile lists, in the state dir, every store the root was put
// in, so uninstall removes it from each even after profiles changed.
const trustRecordFile = "trust.json"

// Store is one trust store holding the root.
type Store struct {
	Kind string `json:"kind"` // "nss" (Chromium, Firefox) or "system"
	Path string `json:"path"` // NSS database directory, or the system store's description
}

func (s Store) String() string {
	if s.Kind == "nss" {
		return "the NSS database " + s.Path
	}
	return "the system store: " + s.Path
}

// TrustReport says what an install or uninstall did and what it could not do.
type TrustReport struct {
	Stores  []Store  `json:"stores"`
	Skipped []string `json:"skipped,omitempty"` // each with what to do about it
}

// SystemMode chooses whether install touches the system trust store.
type SystemMode string

// System store modes.
const (
	SystemAuto SystemMode = "auto" // when this OS allows it without prompting for a password
	SystemYes  SystemMode = "yes"
	SystemNo   SystemMode = "no"
)

// InstallTrust puts the root of state dir dir into the NSS databases that
// Chromium and Firefox read (creating the user's shared NSS database when
// it does not exist yet, as on a desktop where Chromium never ran) and, as
// mode allows, into the system store.
func InstallTrust(dir string, mode SystemMode) (TrustReport, error) {
	var rep TrustReport
	ca, err := LoadCA(dir)
	if err != nil {
		return rep, fmt.Errorf("install root CA: %w", err)
	}
	root := ca.Cert
	if certutil, err := exec.LookPath("certutil"); err != nil {
		rep.Skipped = append(rep.Skipped, "NSS (Chromium, Firefox): certutil not found; install it ("+certutilHelp+") and run `scanfreed certs install` again")
	} else {
		if err := ensureNSSDB(certutil); err != nil {
			return rep, fmt.Errorf("install root CA: %w", err)
		}
		if err := truststore.Install(root, truststore.WithFirefox(), truststore.WithNoSystem()); err != nil {
			return rep, fmt.Errorf("install root CA into NSS: %w", err)
		}
		for _, db := range nssDatabases() {
			if nssHas(certutil, db, root) {
				rep.Stores = append(rep.Stores, Store{Kind: "nss", Path: db})
			}
		}
	}
	allowed, why := systemAllowed()
	switch {
	case mode == SystemNo:
		rep.Skipped = append(rep.Skipped, "system store: skipped (--system=no)")
	case mode == SystemAuto && !allowed:
		rep.Skipped = append(rep.Skipped, "system store: skipped: "+why)
	default:
		if err := truststore.Install(root); err != nil {
			if errors.Is(err, truststore.ErrNotSupported) {
				rep.Skipped = append(rep.Skipped, "system store: not supported on this system")
			} else {
				return rep, fmt.Errorf("install root CA into the system store: %w (or pass --system=no)", err)
			}
		} else {
			rep.Stores = append(rep.Stores, Store{Kind: "system", Path: systemStoreName})
		}
	}
	prev, _ := readTrustRecord(dir)
	for _, s := range rep.Stores {
		if !slices.Contains(prev, s) {
			prev = append(prev, s)
		}
	}
	if err := writeTrustRecord(dir, prev); err != nil {
		return rep, err
	}
	return rep, nil
}

// UninstallTrust removes the root of state dir dir from every store it is
// in, then deletes the CA and leaf files and the record.
func UninstallTrust(dir string) (TrustReport, error) {
	var rep TrustReport
	p := PathsIn(dir)
	root, err := readCert(p.RootCert)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return rep, fmt.Errorf("uninstall root CA: %s is damaged (%v); remove it from your browsers' certificate settings by hand, then delete %s", p.RootCert, err, dir)
	}
	recorded, _ := readTrustRecord(dir)
	if root != nil {
		if certutil, err := exec.LookPath("certutil"); err == nil {
			before := map[string]bool{}
			for _, db := range nssDatabases() {
				before[db] = nssHas(certutil, db, root)
			}
			if err := truststore.Uninstall(root, truststore.WithFirefox(), truststore.WithNoSystem()); err != nil {
				return rep, fmt.Errorf("uninstall root CA from NSS: %w", err)
			}
			for db, had := range before {
				if had && !nssHas(certutil, db, root) {
					rep.Stores = append(rep.Stores, Store{Kind: "nss", Path: db})
				} else if had {
					return rep, fmt.Errorf("uninstall root CA: it is still in the NSS database %s; remove it with `certutil -D -d sql:%s -n %q`", db, db, nssNickname(root))
				}
			}
		} else if slices.ContainsFunc(recorded, func(s Store) bool { return s.Kind == "nss" }) {
			return rep, errors.New("uninstall root CA: certutil not found but the root is in NSS databases; install it (" + certutilHelp + ") and run again")
		}
		if slices.ContainsFunc(recorded, func(s Store) bool { return s.Kind == "system" }) {
			if err := uninstallSystem(root); err != nil {
				return rep, fmt.Errorf("uninstall root CA from the system store: %w", err)
			}
			rep.Stores = append(rep.Stores, Store{Kind: "system", Path: systemStoreName})
		}
	}
	for _, f := range []string{p.RootKey, p.RootCert, p.LeafKey, p.LeafCert, filepath.Join(dir, trustRecordFile)} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return rep, fmt.Errorf("uninstall: remove %s: %w", f, err)
		}
	}
	return rep, nil
}

// TrustedIn lists the stores that hold root now: every NSS database found,
// checked live, and the system store if the record says so.
func TrustedIn(dir string, root *x509.Certificate) []Store {
	var out []Store
	if certutil, err := exec.LookPath("certutil"); err == nil {
		for _, db := range nssDatabases() {
			if nssHas(certutil, db, root) {
				out = append(out, Store{Kind: "nss", Path: db})
			}
		}
	}
	recorded, _ := readTrustRecord(dir)
	for _, s := range recorded {
		if s.Kind == "system" {
			out = append(out, s)
		}
	}
	return out
}

// nssNickname is the name truststore gives the root in NSS databases.
func nssNickname(c *x509.Certificate) string {
	return c.Subject.CommonName + " " + c.SerialNumber.String()
}

// nssHas reports whether the NSS database in directory db holds root.
func nssHas(certutil, db string, root *x509.Certificate) bool {
	return exec.Command(certutil, "-L", "-d", "sql:"+db, "-n", nssNickname(root)).Run() == nil
}

// nssDatabases lists the NSS database directories truststore writes to.
func nssDatabases() []string {
	var out []string
	candidates, _ := filepath.Glob(truststore.NSSProfile)
	candidates = append(candidates, sharedNSSDB())
	for _, d := range candidates {
		if _, err := os.Stat(filepath.Join(d, "cert9.db")); err == nil && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

func readTrustRecord(dir string) ([]Store, error) {
	b, err := os.ReadFile(filepath.Join(dir, trustRecordFile))
	if err != nil {
		return nil, err
	}
	var s []Store
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, trustRecordFile), err)
	}
	return s, nil
}

func writeTrustRecord(dir string, s []Store) error {
	b, _ := json.MarshalIndent(s, "", "  ")
	return keyfile.WriteAtomic(filepath.Join(dir, trustRecordFile), append(b, '\n'), 0o600)
}
