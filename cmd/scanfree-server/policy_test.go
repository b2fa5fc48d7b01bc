package main

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/backend/storage/sqlite"
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

// TestPasskeyCLI: `user passkeys` lists a person's passkeys with the ids
// `user remove-passkey` takes; a name two of hers share is refused with
// the way out, a name of one removes it and logs who did.
func TestPasskeyCLI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "scanfree.db")
	b := startBackend(t, db)
	b.cli("alice-password\n", "user", "create", "--username", "alice", "--nickname", "Alice", "--password-stdin")
	st, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := st.GetUserByUsername(t.Context(), "alice")
	for i, name := range []string{"Phone", "Phone", "Laptop"} {
		if err := st.AddPasskey(t.Context(), storage.Passkey{ID: []byte{byte(i + 1), 7, 7}, UserID: u.ID, Name: name, Credential: []byte("{}"),
			BackupEligible: name == "Phone", CreatedAt: time.Now().Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	list := b.cli("", "user", "passkeys", "alice")
	if strings.Count(list, "Phone") != 2 || !strings.Contains(list, "Laptop") || !strings.Contains(list, "AwcH") || !strings.Contains(list, "synced") {
		t.Fatalf("user passkeys:\n%s", list)
	}
	if out, err := b.cliErr("", "user", "remove-passkey", "alice", "Phone"); err == nil || !strings.Contains(out, "name one by its id") {
		t.Fatalf("an ambiguous name: %v\n%s", err, out)
	}
	if out, err := b.cliErr("", "user", "remove-passkey", "alice", "Tablet"); err == nil || !strings.Contains(out, "user passkeys alice") {
		t.Fatalf("an unknown passkey: %v\n%s", err, out)
	}
	b.cli("", "user", "remove-passkey", "alice", "Laptop")
	b.cli("", "user", "remove-passkey", "alice", "AQcH")
	if list := b.cli("", "user", "passkeys", "alice"); strings.Contains(list, "Laptop") || strings.Count(list, "Phone") != 1 {
		t.Fatalf("after removing two:\n%s", list)
	}
	if out := b.cli("", "events", "--user", "alice", "--csv"); strings.Count(out, "passkey_removed") != 2 {
		t.Fatalf("the removals are not logged:\n%s", out)
	}
}

// TestPasswordPolicyAppCLI: `app create` and `app edit` set an app's
// password policy, "" gives it back to the server's, and a value that is
// no policy is refused with the choices.
func TestPasswordPolicyAppCLI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "scanfree.db")
	b := startBackend(t, db)
	var app struct{ AppID string }
	json.Unmarshal([]byte(b.cli("", "app", "create", "--name", "Payroll", "--redirect-uri", "https://pay.example/cb", "--password-signin", "off", "--json")), &app)
	policy := func() storage.PasswordPolicy {
		t.Helper()
		st, err := sqlite.Open(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		a, err := st.GetApp(t.Context(), app.AppID)
		if err != nil {
			t.Fatal(err)
		}
		return a.Fence.PasswordSignin
	}
	if p := policy(); p != storage.PasswordOff {
		t.Fatalf("after create: %q", p)
	}
	b.cli("", "app", "edit", app.AppID, "--password-signin", "second-factor")
	if p := policy(); p != storage.PasswordSecondFactor {
		t.Fatalf("after edit: %q", p)
	}
	if out, err := b.cliErr("", "app", "edit", app.AppID, "--password-signin", "sometimes"); err == nil || !strings.Contains(out, "use on, second-factor or off") {
		t.Fatalf("a policy that is none: %v\n%s", err, out)
	}
	b.cli("", "app", "edit", app.AppID, "--password-signin", "")
	if p := policy(); p != "" {
		t.Fatalf("after giving it back to the server: %q", p)
	}
}
