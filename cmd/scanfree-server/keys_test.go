package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestKeysCommands: with SQLite the data key is made beside the database,
// readable by its owner only; `keys rotate` publishes new keys in the
// running server's JWKS at once; `keys list` shows them waiting; a wrong
// data key file is refused with the fix. The server's own keys exist
// from its start.
func TestKeysCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "scanfree.db")
	b := startBackend(t, db)
	fi, err := os.Stat(db + ".key")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("data key beside the database: %v %v", fi, err)
	}
	// The server made its keys before it was ready; a rotation's keys
	// wait their --sign-after.
	if out := b.cli("", "keys", "list"); strings.Count(out, "signing") != 2 {
		t.Fatalf("keys list of a server just started:\n%s", out)
	}
	var made []struct {
		KID string `json:"KID"`
		Alg string `json:"Alg"`
	}
	if err := json.Unmarshal([]byte(b.cli("", "keys", "rotate", "--sign-after", "1h", "--json")), &made); err != nil || len(made) != 2 {
		t.Fatalf("keys rotate: %+v %v", made, err)
	}
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	b.getJSON("/oauth2/jwks", &set)
	for _, k := range made {
		found := false
		for _, p := range set.Keys {
			found = found || (p.KID == k.KID && p.Alg == k.Alg)
		}
		if !found {
			t.Fatalf("rotated key %s not in the running server's JWKS %+v", k.KID, set)
		}
	}
	if out := b.cli("", "keys", "list"); strings.Count(out, "next") != 2 {
		t.Fatalf("keys list:\n%s", out)
	}

	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("short\n"), 0o600)
	_, errOut, err := testutil.Run(context.Background(), nil, "", b.bin, "keys", "list", "--db", db, "--data-key-file", bad)
	if err == nil || !strings.Contains(errOut, "head -c 32 /dev/urandom | base64") {
		t.Fatalf("a malformed key file: %v %s", err, errOut)
	}
}
