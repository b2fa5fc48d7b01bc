package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
)

// guessEnv is a backend behind a trusted proxy (this test), so that each
// request can come from the client address the test names.
func guessEnv(t *testing.T) *env {
	return newEnvWith(t, func(c *server.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
}

// guess posts the password form for username from client address from.
func guess(b *browser, from, username, password string) int {
	resp, _ := b.post("/login", url.Values{"username": {username}, "password": {password}}, http.Header{"X-Forwarded-For": {from}})
	return resp.StatusCode
}

// TestGuessingFromOneSlash64: the addresses of one IPv6 /64 (one host's
// privacy addresses) share one budget: a new /128 for every guess gets no
// more tries than one address does.
func TestGuessingFromOneSlash64(t *testing.T) {
	e := guessEnv(t)
	e.user("alice")
	b := e.browser()
	refused := 0
	for i := range 30 {
		if guess(b, fmt.Sprintf("2001:db8:1:2::%x", i+1), "alice", "wrong") == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused < 25 {
		t.Fatalf("30 guesses from 30 addresses of one /64: %d refused, want all after the first 5", refused)
	}
	// Another /64 is someone else.
	if code := guess(b, "2001:db8:1:3::1", "alice", "alice-password"); code != http.StatusSeeOther {
		t.Fatalf("alice from another /64: %d", code)
	}
}

// TestGuessingFromManyAddresses: guesses of one account from many
// addresses, each within its own budget, slow every further password
// check of the account and tell its owner, without locking her out:
// her right password still signs in, and scan-free sign-in does not wait.
func TestGuessingFromManyAddresses(t *testing.T) {
	e := guessEnv(t)
	e.user("alice")
	app := e.app(admin.AppSpec{FastLogin: true})
	cred := e.enrol("alice")
	b := e.browser()
	for i := range 10 {
		if code := guess(b, fmt.Sprintf("198.51.100.%d", i+1), "alice", "wrong"); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i+1, code)
		}
	}
	// The next check waits about a second: a client that gives up after
	// a fifth of that gets no answer.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", e.url+"/login", strings.NewReader("username=alice&password=wrong"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-Forwarded-For", "198.51.100.200")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the 11th guess was answered at once (%d); want it held back", resp.StatusCode)
	}
	// Scan-free sign-in is not slowed: it takes no password.
	if code := e.code(cred, app); code == "" {
		t.Fatal("scan-free sign-in refused while the password is being guessed")
	}
	// The owner, from her own address, still gets in.
	owner := e.browser()
	if code := guess(owner, "203.0.113.7", "alice", "alice-password"); code != http.StatusSeeOther {
		t.Fatalf("alice's right password after the guessing: %d, want a sign-in", code)
	}
	_, page := owner.get("/account")
	if !strings.Contains(page, `id="guessed"`) || !strings.Contains(page, "wrong passwords within an hour") {
		t.Fatalf("the account page does not tell alice her password is being guessed: %s", page)
	}
}
