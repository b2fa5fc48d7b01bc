package idp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/daemon/creds"
	"github.com/scanfree/scanfree/internal/dpop"
)

// TestKeyInKeychain runs macOS's software key against the real backend,
// with go-keyring's in-memory keyring standing in for the login keychain
// (a fake: no macOS keychain runs here; on a Mac the same creds.Item
// drives /usr/bin/security). The key goes to the keychain, never to the
// state directory, so a copy of that folder, credential and all, carries
// no key and is refused, while the original keeps working; logout deletes
// the key; a keychain that refuses the key leaves it in the key file and
// says why; a key file from before stays in use.
func TestKeyInKeychain(t *testing.T) {
	keyring.MockInit()
	srv, st, _ := realBackend(t)
	ctx := context.Background()
	client := func(dir string) *Client {
		store := creds.New(dir)
		store.UseKeyring = false // the credential in the folder: the copy below takes it along
		c, err := New(Config{BackendURL: srv.URL, Creds: store, KeyFile: filepath.Join(dir, "dpop-key.pem"), TPM: TPMOff,
			Keychain: creds.NewItem(dir, "dpop-key"), Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	enrol := func(c *Client) {
		t.Helper()
		da, err := c.StartEnrolment(ctx, "mac", "darwin")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.ApproveDevice(ctx, st, "alice", da.UserCode, time.Now()); err != nil {
			t.Fatal(err)
		}
		da.Interval = 0
		if err := c.WaitEnrolment(ctx, da); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	c := client(dir)
	enrol(c)
	if _, err := c.Me(ctx); err != nil {
		t.Fatalf("Me: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dpop-key.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a key file in the state dir: %v", err)
	}
	if !c.InKeychain() || c.KeyProtection() != "software" {
		t.Fatalf("InKeychain %v, KeyProtection %q; want true, software", c.InKeychain(), c.KeyProtection())
	}
	held, err := creds.NewItem(dir, "dpop-key").Get()
	if err != nil {
		t.Fatal(err)
	}
	k, err := dpop.ParsePEM([]byte(held))
	if err != nil {
		t.Fatal(err)
	}
	if key, _ := c.proofKey(); key.Thumbprint() != k.Thumbprint() {
		t.Fatal("the keychain holds another key than the one the desktop proves with")
	}

	t.Run("a copy of the state dir is refused", func(t *testing.T) {
		copyDir := t.TempDir() // another path, as another home or computer: its keychain lacks the key
		for _, f := range []string{"credential", "dpop-key.keychain"} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(copyDir, f), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		cp := client(copyDir)
		if _, err := cp.Me(ctx); err == nil || !strings.Contains(err.Error(), "gone from the keychain") {
			t.Fatalf("the copy's Me: %v; want a refusal naming the missing key", err)
		}
		if _, err := c.Me(ctx); err != nil {
			t.Fatalf("the original after the copy's try: %v", err)
		}
		cp.dropUnusableKey() // its next sign-in makes a key of its own
		if cp.InKeychain() || cp.KeyProblem() != nil {
			t.Fatalf("after dropping: InKeychain %v, KeyProblem %v", cp.InKeychain(), cp.KeyProblem())
		}
	})
	t.Run("logout deletes the key", func(t *testing.T) {
		if err := c.Logout(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := creds.NewItem(dir, "dpop-key").Get(); !errors.Is(err, creds.ErrNone) {
			t.Fatalf("the keychain after logout: %v; want no key", err)
		}
		if c.InKeychain() {
			t.Fatal("the keychain mark outlived logout")
		}
	})
	t.Run("a keychain that refuses the key", func(t *testing.T) {
		keyring.MockInitWithError(errors.New("the user denied access"))
		t.Cleanup(keyring.MockInit)
		dir := t.TempDir()
		c := client(dir)
		enrol(c)
		if c.InKeychain() || c.KeychainSkipped() == nil {
			t.Fatalf("InKeychain %v, KeychainSkipped %v; want the key file and the reason", c.InKeychain(), c.KeychainSkipped())
		}
		if _, err := os.Stat(filepath.Join(dir, "dpop-key.pem")); err != nil {
			t.Fatalf("no key file: %v", err)
		}
	})
	t.Run("a key file from before stays in use", func(t *testing.T) {
		dir := t.TempDir()
		old, err := dpop.LoadOrCreate(filepath.Join(dir, "dpop-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		c := client(dir)
		k, err := c.proofKey()
		if err != nil || k.Thumbprint() != old.Thumbprint() || c.InKeychain() {
			t.Fatalf("proofKey = %v, %v, InKeychain %v; want the key file's key", k, err, c.InKeychain())
		}
	})
}
