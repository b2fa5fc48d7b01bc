package main

import (
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPasswordPolicyDefault: a new install, started without
// --password-signin, asks for a second factor after a password (a right
// password alone is refused), says nothing about it at start, and keeps
// that choice when restarted; --password-signin=on on the same database
// takes a password alone again.
func TestPasswordPolicyDefault(t *testing.T) {
	db := filepath.Join(t.TempDir(), "scanfree.db")
	login := func(b *backend) (int, string) {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		web := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		status, body := b.post(web, "/login", "application/x-www-form-urlencoded", "username=alice&password=alice-password",
			http.Header{"Sec-Fetch-Site": {"same-origin"}})
		return status, string(body)
	}
	b := startBackendWith(t, db, "", "--password-signin=") // the install's own default
	b.cli("alice-password\n", "user", "create", "--username", "alice", "--nickname", "Alice", "--password-stdin")
	if status, body := login(b); status != http.StatusForbidden || !strings.Contains(body, "also needs a passkey or an authenticator code") {
		t.Fatalf("a password alone on a new install: %d %.300s", status, body)
	}
	if strings.Contains(b.proc.Stderr.String(), "a password alone still signs people in") {
		t.Fatalf("a new install warns of the old policy:\n%s", b.proc.Stderr.String())
	}
	b.proc.Stop(5 * time.Second)
	again := startBackendWith(t, db, "", "--password-signin=")
	if status, _ := login(again); status != http.StatusForbidden {
		t.Fatalf("after a restart with people in it: %d, want the new install's policy kept", status)
	}
	again.proc.Stop(5 * time.Second)
	on := startBackendWith(t, db, "", "--password-signin=on")
	if status, _ := login(on); status != http.StatusSeeOther {
		t.Fatalf("--password-signin=on: %d", status)
	}
}
