package server_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
)

var (
	totpSecretRE = regexp.MustCompile(`<code id="totp-secret">([A-Z2-7]+)</code>`)
	sealedRE     = regexp.MustCompile(`name="sealed" value="([^"]+)"`)
	stepRE       = regexp.MustCompile(`name="step" value="([^"]+)"`)
	recoveryRE   = regexp.MustCompile(`<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>`)
)

// passwordStep posts tess's password and returns the code form's step.
func passwordStep(t *testing.T, b *browser) string {
	t.Helper()
	resp, body := b.post("/login", url.Values{"username": {"tess"}, "password": {"tess-password"}, "next": {"/account"}}, nil)
	m := stepRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("the password step: %d %.300s", resp.StatusCode, body)
	}
	if resp, _ := b.get("/account"); resp.StatusCode != http.StatusSeeOther {
		t.Fatal("a right password alone opened the account page")
	}
	return html.UnescapeString(m[1])
}

// TestTOTP: an authenticator app set up from the account page (a code
// from it proves it took; ten recovery codes shown once) makes every
// password sign-in ask for its code. A right password alone signs
// nobody in; a wrong code counts against the account's ceiling; a code
// is good once (a replay in its window is refused); a recovery code
// signs in once.
func TestTOTP(t *testing.T) {
	e := newEnvWith(t, func(c *server.Config) { c.DataKey = make([]byte, 32) })
	ctx := context.Background()
	e.user("tess")
	b := e.browser()
	b.login("tess")
	_, body := b.get("/account/totp")
	sec, sealed := totpSecretRE.FindStringSubmatch(body), sealedRE.FindStringSubmatch(body)
	if sec == nil || sealed == nil || !strings.Contains(body, `id="totp-qr" src="data:image/png;base64,`) {
		t.Fatalf("the setup page: %s", body[max(0, len(body)-1200):])
	}
	code := func() string {
		c, err := totp.GenerateCode(sec[1], e.clock())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if resp, _ := b.post("/account/totp", url.Values{"sealed": {sealed[1]}, "code": {"000000"}}, nil); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong code turned it on: %d", resp.StatusCode)
	}
	// Another person's setup form is not hers.
	e.user("uma")
	other := e.browser()
	other.login("uma")
	if resp, _ := other.post("/account/totp", url.Values{"sealed": {sealed[1]}, "code": {code()}}, nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("tess's setup form used by uma: %d", resp.StatusCode)
	}
	resp, body := b.post("/account/totp", url.Values{"sealed": {sealed[1]}, "code": {code()}}, nil)
	codes := recoveryRE.FindAllStringSubmatch(body, -1)
	if resp.StatusCode != http.StatusOK || len(codes) != 10 {
		t.Fatalf("turning it on: %d, %d recovery codes", resp.StatusCode, len(codes))
	}
	if st, _ := e.store.GetTOTP(ctx, mustUser(t, e, "tess").ID); strings.Contains(string(st.SecretSealed), sec[1]) {
		t.Fatal("the secret is stored in the clear")
	}
	enrolCode := code()

	t.Run("the enrolment's code does not sign in", func(t *testing.T) {
		step := passwordStep(t, e.browser())
		if resp, _ := e.browser().post("/login/code", url.Values{"step": {step}, "code": {enrolCode}}, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the code that set it up signed in: %d", resp.StatusCode)
		}
	})

	t.Run("wrong code counts", func(t *testing.T) {
		before, _ := e.store.CountAttempts(ctx, storage.AccountKey("tess"), time.Hour, e.clock())
		br := e.browser()
		step := passwordStep(t, br)
		if resp, _ := br.post("/login/code", url.Values{"step": {step}, "code": {"123456"}}, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a wrong code: %d", resp.StatusCode)
		}
		if n, _ := e.store.CountAttempts(ctx, storage.AccountKey("tess"), time.Hour, e.clock()); n != before+1 {
			t.Fatalf("the account's failures: %d, want %d", n, before+1)
		}
	})

	t.Run("a code once", func(t *testing.T) {
		e.advance(30 * time.Second) // the next step's code
		c := code()
		br := e.browser()
		if resp, body := br.post("/login/code", url.Values{"step": {passwordStep(t, br)}, "code": {c}}, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("password and code: %d %.300s", resp.StatusCode, body)
		}
		if resp, _ := br.get("/account"); resp.StatusCode != http.StatusOK {
			t.Fatal("signed in, but the account page does not open")
		}
		again := e.browser()
		if resp, _ := again.post("/login/code", url.Values{"step": {passwordStep(t, again)}, "code": {c}}, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a replayed code: %d", resp.StatusCode)
		}
	})

	t.Run("a recovery code once", func(t *testing.T) {
		rc := strings.ToUpper(strings.ReplaceAll(codes[3][1], "-", "")) // as someone might type it
		br := e.browser()
		if resp, _ := br.post("/login/code", url.Values{"step": {passwordStep(t, br)}, "code": {rc}}, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("a recovery code: %d", resp.StatusCode)
		}
		again := e.browser()
		if resp, _ := again.post("/login/code", url.Values{"step": {passwordStep(t, again)}, "code": {rc}}, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a recovery code twice: %d", resp.StatusCode)
		}
		if _, body := br.get("/account"); !strings.Contains(body, "9 recovery codes left") {
			t.Fatalf("the account page: %.300s", body)
		}
	})

	t.Run("a forged or stale step", func(t *testing.T) {
		step := passwordStep(t, e.browser())
		forged := step[:len(step)-2] + "AA"
		if resp, _ := e.browser().post("/login/code", url.Values{"step": {forged}, "code": {code()}}, nil); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("a forged step: %d", resp.StatusCode)
		}
		e.advance(6 * time.Minute)
		if resp, _ := e.browser().post("/login/code", url.Values{"step": {step}, "code": {code()}}, nil); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("a step older than five minutes: %d", resp.StatusCode)
		}
	})
}

func mustUser(t *testing.T, e *env, name string) storage.User {
	t.Helper()
	u, err := e.store.GetUserByUsername(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
