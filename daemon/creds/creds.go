// Package creds keeps the daemon's device credential: in the OS keyring
// (Secret Service, macOS Keychain, Windows Credential Manager) when one is
// running, else in a file of mode 0600 in the state dir.
package creds

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/scanfree/scanfree/internal/keyfile"

	"github.com/zalando/go-keyring"

	"github.com/scanfree/scanfree/internal/sessionbus"
)

// ErrNone reports that no credential is stored.
var ErrNone = errors.New("no device credential stored")

const service = "scanfree"

// Store is the credential of one daemon install.
type Store struct {
	file    string
	account string // keyring account: one per state dir, so daemons side by side do not mix
	// UseKeyring may be set false to keep the credential in the file only.
	UseKeyring bool
}

// New returns the store for state dir dir. It does no I/O.
func New(dir string) *Store {
	return &Store{file: filepath.Join(dir, "credential"), account: account("device", dir), UseKeyring: true}
}

// account is the keyring account of secret name of the install in state
// dir dir.
func account(name, dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	sum := sha256.Sum256([]byte(abs))
	return name + "-" + hex.EncodeToString(sum[:8])
}

// Item is one more secret of a daemon install, kept in the OS keyring
// only: there is no file to fall back to, so its user decides what to do
// when the keyring refuses it.
type Item struct{ account string }

// NewItem returns secret name of the install in state dir dir. It does no
// I/O.
func NewItem(dir, name string) *Item { return &Item{account: account(name, dir)} }

// Get returns the secret, or ErrNone when the keyring holds none.
func (i *Item) Get() (string, error) {
	v, err := keyring.Get(service, i.account)
	switch {
	case errors.Is(err, keyring.ErrNotFound) || err == nil && v == "":
		return "", ErrNone
	case err != nil:
		return "", fmt.Errorf("read %s from the OS keyring: %w", i.account, err)
	}
	return v, nil
}

// Set stores the secret in the keyring.
func (i *Item) Set(v string) error {
	if err := keyring.Set(service, i.account, v); err != nil {
		return fmt.Errorf("store %s in the OS keyring: %w", i.account, err)
	}
	return nil
}

// Delete removes the secret; one that is not there is no error.
func (i *Item) Delete() error {
	if err := keyring.Delete(service, i.account); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("delete %s from the OS keyring: %w", i.account, err)
	}
	return nil
}

// keyringOK reports whether to use the keyring. On Linux and the BSDs it
// is the Secret Service on the session bus, and go-keyring would
// autolaunch a bus (a dbus-daemon that outlives the daemon and serves no
// keyring) when none is known: then the file is used.
func (s *Store) keyringOK() bool {
	return s.UseKeyring && (runtime.GOOS == "darwin" || runtime.GOOS == "windows" || sessionbus.Known())
}

// Where says where Get found, or Set put, the credential.
func (s *Store) Where() string {
	if s.keyringOK() {
		if _, err := keyring.Get(service, s.account); err == nil {
			return "OS keyring"
		}
	}
	return s.file
}

// Get returns the stored credential or ErrNone.
func (s *Store) Get() (string, error) {
	if s.keyringOK() {
		v, err := keyring.Get(service, s.account)
		if err == nil && v != "" {
			return v, nil
		}
	}
	b, err := os.ReadFile(s.file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", ErrNone
	}
	if err != nil {
		return "", fmt.Errorf("read credential %s: %w", s.file, err)
	}
	if fi, err := os.Stat(s.file); err == nil && keyfile.OthersMayRead(fi) {
		return "", fmt.Errorf("credential file %s has mode %v; other users could read it: delete it and run `scanfreed login`", s.file, fi.Mode().Perm())
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", ErrNone
	}
	return v, nil
}

// Set stores cred, in the keyring when it works, else in the file.
func (s *Store) Set(cred string) error {
	if s.keyringOK() {
		if err := keyring.Set(service, s.account, cred); err == nil {
			os.Remove(s.file)
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(s.file), 0o700); err != nil {
		return fmt.Errorf("store credential: %w", err)
	}
	tmp := s.file + ".tmp"
	if err := os.WriteFile(tmp, []byte(cred+"\n"), 0o600); err != nil {
		return fmt.Errorf("store credential: %w", err)
	}
	if err := os.Rename(tmp, s.file); err != nil {
		return fmt.Errorf("store credential: %w", err)
	}
	return nil
}

// Delete removes the credential from both places.
func (s *Store) Delete() error {
	if s.keyringOK() {
		// Fails when nothing is stored or no keyring service runs; either way
		// nothing is left there.
		keyring.Delete(service, s.account)
	}
	if err := os.Remove(s.file); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete credential %s: %w", s.file, err)
	}
	return nil
}
