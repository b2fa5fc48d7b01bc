package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// TestFilesPrivate: the database and its WAL files are 0600, new or left
// 0644 by an older version, and another local user cannot read them.
func TestFilesPrivate(t *testing.T) {
	ctx := context.Background()
	// A folder others may enter: the files' own mode must protect them.
	dir, err := os.MkdirTemp("", "scanfree-private-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	path := filepath.Join(dir, "scanfree.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, storage.User{ID: "u1", Username: "alice", Nickname: "A", PasswordHash: "$argon2id$secret-hash", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	if _, err := user.Lookup("nobody"); err == nil && os.Geteuid() == 0 {
		// The control: nobody reads a 0644 file in the same folder.
		control := filepath.Join(dir, "control")
		os.WriteFile(control, []byte("x"), 0o644)
		if out, err := exec.Command("runuser", "-u", "nobody", "--", "cat", control).CombinedOutput(); err != nil {
			t.Fatalf("control: nobody cannot read a 0644 file here either (%v: %s)", err, out)
		}
		if out, err := exec.Command("runuser", "-u", "nobody", "--", "cat", path).CombinedOutput(); err == nil {
			t.Errorf("nobody read the database: %d bytes", len(out))
		}
	}
	s.Close()

	// A file an older version left 0644 is tightened at the next open.
	for _, p := range []string{path, path + "-wal"} {
		os.Chmod(p, 0o644)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("reopened 0644 database: mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestUpgradeFromWave2: a database written before token families and own
// owners opens with every app that had the shared "default" owner now its
// own owner, and a sign-in's tokens in a family its device revokes.
func TestUpgradeFromWave2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	const before = 5 // the schema version the second wave shipped
	for _, step := range migrations[:before] {
		for _, stmt := range step {
			if _, err := db.Exec(stmt); err != nil {
				t.Fatal(err)
			}
		}
	}
	now := time.Now()
	for _, stmt := range []string{
		fmt.Sprintf("PRAGMA user_version = %d", before),
		fmt.Sprintf("PRAGMA application_id = %d", applicationID),
		`INSERT INTO users (id, username, nickname, password_hash, created_at) VALUES ('u1', 'alice', 'Alice', 'x', 0)`,
		`INSERT INTO apps (appid, name, owner, secret_hash, redirect_uris, domains, fast_login, created_at) VALUES
			('wxa', 'A', 'default', x'00', '[]', '[]', 1, 0), ('wxb', 'B', 'default', x'00', '[]', '[]', 1, 0), ('wxc', 'C', 'acme', x'00', '[]', '[]', 1, 0)`,
		`INSERT INTO devices (id, user_id, name, os, credential_hash, created_at, last_seen_at) VALUES ('d1', 'u1', 'desk', 'linux', x'01', 0, 0)`,
		`INSERT INTO codes (hash, appid, redirect_uri, user_id, device_id, scope, created_at, expires_at, used_at) VALUES (x'aa', 'wxa', 'https://a/cb', 'u1', 'd1', 'openid', 0, 1, 1)`,
		fmt.Sprintf(`INSERT INTO tokens (hash, kind, appid, user_id, code_hash, scope, created_at, expires_at) VALUES (x'bb', 'refresh', 'wxa', 'u1', x'aa', 'openid', 0, %d)`,
			now.Add(time.Hour).UnixMilli()),
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// An install from before the password policy keeps taking a password
	// alone (the server warns); a new one has no mark, and asks for more.
	if v, err := s.Secret(ctx, "password-signin-default", nil); err != nil || string(v) != "on" {
		t.Fatalf("the old install's password policy: %q %v", v, err)
	}
	fresh, err := Open(ctx, filepath.Join(t.TempDir(), "new.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if _, err := fresh.Secret(ctx, "password-signin-default", nil); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a new install's password policy mark: %v", err)
	}
	defer s.Close()
	owners := map[string]string{}
	for _, id := range []string{"wxa", "wxb", "wxc"} {
		a, err := s.GetApp(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		owners[id] = a.Owner
	}
	if owners["wxa"] != storage.OwnOwner("wxa") || owners["wxb"] != storage.OwnOwner("wxb") || owners["wxc"] != "acme" {
		t.Fatalf("owners after the upgrade: %v", owners)
	}
	// The code row goes (purged as before); the family stays with its device.
	if _, err := s.w.Exec(`DELETE FROM codes`); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeDevice(ctx, "d1", now); err != nil {
		t.Fatal(err)
	}
	tk, err := s.GetToken(ctx, []byte{0xbb})
	if err != nil || tk.RevokedAt.IsZero() {
		t.Fatalf("a wave-2 token after its device's revocation: %+v %v", tk, err)
	}
}
