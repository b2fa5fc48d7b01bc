package idp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/scanfree/scanfree/daemon/creds"
	"github.com/scanfree/scanfree/internal/dpop"
	"github.com/scanfree/scanfree/internal/keyfile"
	"github.com/scanfree/scanfree/internal/tpmkey"
)

// Keychain holds a software proof key outside the state directory (a
// creds.Item: on macOS, the login keychain). Get answers creds.ErrNone
// when it holds none.
type Keychain interface {
	Get() (string, error)
	Set(string) error
	Delete() error
}

// keychainMarkFile says, beside KeyFile, that this desktop's key is in
// Config.Keychain: without it a keychain that cannot be read would look
// like a desktop without a key, and a new key would be made in its place.
func (c *Client) keychainMarkFile() string {
	return strings.TrimSuffix(c.cfg.KeyFile, filepath.Ext(c.cfg.KeyFile)) + ".keychain"
}

// InKeychain reports whether the desktop's proof key is held by
// Config.Keychain rather than by a file in the state directory.
func (c *Client) InKeychain() bool {
	return c.cfg.Keychain != nil && c.cfg.KeyFile != "" && tpmkey.Exists(c.keychainMarkFile())
}

// KeychainSkipped is why a new software key went to the key file although
// Config.Keychain is set, or nil.
func (c *Client) KeychainSkipped() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keychainSkipped
}

// softKey loads or makes a software proof key (c.mu held). A key file is
// used as it is, and so is a key in Config.Keychain; a new key goes to
// the keychain when there is one and it takes the key, else to the file.
func (c *Client) softKey() (*dpop.Key, error) {
	kc := c.cfg.Keychain
	if kc == nil || tpmkey.Exists(c.cfg.KeyFile) {
		return dpop.LoadOrCreate(c.cfg.KeyFile)
	}
	if tpmkey.Exists(c.keychainMarkFile()) {
		s, err := kc.Get()
		if errors.Is(err, creds.ErrNone) {
			return nil, errors.New("this desktop's proof key is gone from the keychain: run `scanfreed login` to sign this computer in again")
		}
		if err != nil {
			return nil, fmt.Errorf("%w; unlock the login keychain (Keychain Access) and try again", err)
		}
		return dpop.ParsePEM([]byte(s))
	}
	k, err := dpop.NewKey()
	if err != nil {
		return nil, err
	}
	b, err := k.MarshalPEM()
	if err != nil {
		return nil, err
	}
	if err := kc.Set(string(b)); err != nil {
		c.keychainSkipped = err
		return dpop.LoadOrCreate(c.cfg.KeyFile)
	}
	// The mark is written last: a crash before it leaves a keychain item
	// nothing points to, which the next key simply replaces.
	mark := "this desktop's DPoP proof key is a software key in the login keychain (service scanfree), not in this folder\n"
	if err := keyfile.WriteAtomic(c.keychainMarkFile(), []byte(mark), 0o600); err != nil {
		kc.Delete()
		return nil, fmt.Errorf("save proof key: %w", err)
	}
	return k, nil
}

// dropKeychainKey deletes the keychain's key and its mark.
func (c *Client) dropKeychainKey() {
	if c.cfg.Keychain == nil || !tpmkey.Exists(c.keychainMarkFile()) {
		return
	}
	c.cfg.Keychain.Delete()
	os.Remove(c.keychainMarkFile())
}
