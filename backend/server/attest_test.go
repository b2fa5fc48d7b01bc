package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/dpop"
	"github.com/scanfree/scanfree/internal/harness/swtpmtest"
	"github.com/scanfree/scanfree/internal/tpmkey"
	"golang.org/x/oauth2"
)

// tpmKey makes a proof key in tp (swtpm serves one connection at a time:
// one key per TPM in a test).
func tpmKey(t *testing.T, tp *swtpmtest.TPM) *tpmkey.Key {
	t.Helper()
	c, err := tpmkey.Open(tp.Addr)
	if err != nil {
		t.Fatal(err)
	}
	k, err := tpmkey.Create(c, filepath.Join(t.TempDir(), "dpop-key.tpm"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// TestTPMAttestation shows a desktop's key to be held by a TPM whose
// maker the server trusts (credential activation against swtpm's
// endorsement key), and tries what a desktop without one could send:
// each is refused and the key stays recorded as software.
func TestTPMAttestation(t *testing.T) {
	maker := swtpmtest.NewMaker(t)
	tp := maker.Start(t)
	stranger := swtpmtest.NewMaker(t)
	theirs := stranger.Start(t)
	roots, err := tpmkey.LoadRoots(maker.Roots)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, func(c *server.Config) { c.TPMEKRoots = roots })
	e.user("alice")
	e.user("bob")
	tk := tpmKey(t, tp)
	key, err := dpop.FromSigner(tk, "tpm")
	if err != nil {
		t.Fatal(err)
	}
	d := enrolWith(e, "alice", key)
	ek, err := tk.EKCertificate()
	if err != nil {
		t.Fatal(err)
	}
	other := tpmKey(t, theirs)
	theirEK, err := other.EKCertificate()
	if err != nil {
		t.Fatal(err)
	}
	soft := enrolWithKey(e, "bob")

	protection := func(d *desktop) string {
		var me deviceapi.Me
		a := d.me()
		if a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &me) != nil {
			t.Fatalf("me: %+v", a)
		}
		return me.KeyProtection
	}
	challenge := func(d *desktop, req deviceapi.KeyAttestation) deviceapi.KeyChallenge {
		t.Helper()
		a := d.call("POST", deviceapi.PathKeyAttest, req)
		var ch deviceapi.KeyChallenge
		if a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &ch) != nil || len(ch.IDObject) == 0 {
			t.Fatalf("attestation request: %+v; want a challenge", a)
		}
		return ch
	}
	refused := func(t *testing.T, d *desktop, req deviceapi.KeyAttestation, want string) {
		t.Helper()
		a := d.call("POST", deviceapi.PathKeyAttest, req)
		if a.status == http.StatusOK || !strings.Contains(a.body, want) {
			t.Fatalf("answer %+v; want a refusal saying %q", a, want)
		}
		if p := protection(d); p != "software" {
			t.Fatalf("after the refusal the key is recorded as %q; want software", p)
		}
	}

	t.Run("another TPM's key", func(t *testing.T) {
		refused(t, d, deviceapi.KeyAttestation{PublicArea: other.PublicArea(), EKCert: ek}, "not the key this desktop proves")
	})
	t.Run("an EK certificate of a maker the server does not trust", func(t *testing.T) {
		refused(t, d, deviceapi.KeyAttestation{PublicArea: tk.PublicArea(), EKCert: theirEK}, "does not trust that TPM's maker")
	})
	t.Run("not a TPM public area", func(t *testing.T) {
		refused(t, d, deviceapi.KeyAttestation{PublicArea: []byte("a software key"), EKCert: ek}, "not a non-exportable TPM signing key")
	})
	t.Run("a wrong answer", func(t *testing.T) {
		req := deviceapi.KeyAttestation{PublicArea: tk.PublicArea(), EKCert: ek}
		ch := challenge(d, req)
		req.Expires, req.Secret = ch.Expires, make([]byte, 32)
		refused(t, d, req, "did not open the challenge")
	})
	t.Run("the right answer with its expiry moved", func(t *testing.T) {
		req := deviceapi.KeyAttestation{PublicArea: tk.PublicArea(), EKCert: ek}
		ch := challenge(d, req)
		secret, err := tk.Activate(ch.IDObject, ch.EncSecret, tpmkey.EK(ch.EK))
		if err != nil {
			t.Fatal(err)
		}
		req.Expires, req.Secret = ch.Expires+60, secret
		refused(t, d, req, "did not open the challenge")
	})
	t.Run("the right answer after the challenge expired", func(t *testing.T) {
		req := deviceapi.KeyAttestation{PublicArea: tk.PublicArea(), EKCert: ek}
		ch := challenge(d, req)
		secret, err := tk.Activate(ch.IDObject, ch.EncSecret, tpmkey.EK(ch.EK))
		if err != nil {
			t.Fatal(err)
		}
		e.advance(3 * time.Minute)
		req.Expires, req.Secret = ch.Expires, secret
		refused(t, d, req, "expired")
	})
	t.Run("a software key dressed as this TPM's key", func(t *testing.T) {
		// bob's desktop proves a software key; it sends alice's TPM public
		// area with the TPM's EK: the key is not its own.
		refused(t, soft, deviceapi.KeyAttestation{PublicArea: tk.PublicArea(), EKCert: ek}, "not the key this desktop proves")
	})
	t.Run("the TPM's answer", func(t *testing.T) {
		req := deviceapi.KeyAttestation{PublicArea: tk.PublicArea(), EKCert: ek}
		ch := challenge(d, req)
		secret, err := tk.Activate(ch.IDObject, ch.EncSecret, tpmkey.EK(ch.EK))
		if err != nil {
			t.Fatal(err)
		}
		req.Expires, req.Secret = ch.Expires, secret
		a := d.call("POST", deviceapi.PathKeyAttest, req)
		if a.status != http.StatusOK || !strings.Contains(a.body, `"key_protection":"tpm"`) {
			t.Fatalf("the answer: %+v", a)
		}
		if p := protection(d); p != "tpm" {
			t.Fatalf("the key is recorded as %q; want tpm", p)
		}
		evs, err := e.store.ListEvents(context.Background(), "", "device_key_attested", 10)
		if err != nil || len(evs) != 1 {
			t.Fatalf("device_key_attested events: %+v, %v; want one", evs, err)
		}
		if p := protection(soft); p != "software" {
			t.Fatalf("bob's software desktop is recorded as %q", p)
		}
		b := e.browser()
		b.post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}}, nil)
		if _, body := b.get("/account"); !strings.Contains(body, `data-label="Key">key in its TPM`) {
			t.Errorf("/account of a TPM desktop lacks its key cell: %s", body)
		}
	})
	t.Run("a TPM certified on ECC P-384 alone", func(t *testing.T) {
		eccTPM := maker.Start(t)
		eccTPM.DropRSAEK(t) // swtpm_setup certifies an RSA and a P-384 EK
		e.user("carol")
		ctk := tpmKey(t, eccTPM)
		ckey, err := dpop.FromSigner(ctk, "tpm")
		if err != nil {
			t.Fatal(err)
		}
		cd := enrolWith(e, "carol", ckey)
		cek, err := ctk.EKCertificate()
		if err != nil {
			t.Fatal(err)
		}
		req := deviceapi.KeyAttestation{PublicArea: ctk.PublicArea(), EKCert: cek}
		ch := challenge(cd, req)
		if ch.EK != "ecc-p384" || ch.EKRSA {
			t.Fatalf("challenge for EK %q (ek_rsa %v); want ecc-p384", ch.EK, ch.EKRSA)
		}
		if req.Secret, err = ctk.Activate(ch.IDObject, ch.EncSecret, tpmkey.EK(ch.EK)); err != nil {
			t.Fatal(err)
		}
		req.Expires = ch.Expires
		if a := cd.call("POST", deviceapi.PathKeyAttest, req); a.status != http.StatusOK {
			t.Fatalf("the answer: %+v", a)
		}
		if p := protection(cd); p != "tpm" {
			t.Fatalf("the key is recorded as %q; want tpm", p)
		}
	})
	t.Run("a server that trusts no TPM maker", func(t *testing.T) {
		plain := newEnv(t)
		plain.user("alice")
		pd := enrolWith(plain, "alice", key)
		refused(t, pd, deviceapi.KeyAttestation{PublicArea: tk.PublicArea(), EKCert: ek}, "--tpm-ek-roots")
	})
}

// attest runs credential activation for desktop d, whose key tk holds.
func attest(t *testing.T, d *desktop, tk *tpmkey.Key) {
	t.Helper()
	ek, err := tk.EKCertificate()
	if err != nil {
		t.Fatal(err)
	}
	req := deviceapi.KeyAttestation{PublicArea: tk.PublicArea(), EKCert: ek}
	var ch deviceapi.KeyChallenge
	if a := d.call("POST", deviceapi.PathKeyAttest, req); a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &ch) != nil {
		t.Fatalf("attestation request: %+v", a)
	}
	if req.Secret, err = tk.Activate(ch.IDObject, ch.EncSecret, tpmkey.EK(ch.EK)); err != nil {
		t.Fatal(err)
	}
	req.Expires = ch.Expires
	if a := d.call("POST", deviceapi.PathKeyAttest, req); a.status != http.StatusOK {
		t.Fatalf("attestation answer: %+v", a)
	}
}

// TestOIDCACR: a relying party that asks for acr_values learns in the
// id_token whether the desktop that confirmed holds its key in its TPM
// (verified), in software, or neither (a bare credential).
func TestOIDCACR(t *testing.T) {
	maker := swtpmtest.NewMaker(t)
	tk := tpmKey(t, maker.Start(t))
	roots, err := tpmkey.LoadRoots(maker.Roots)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, func(c *server.Config) { c.DataKey, c.TPMEKRoots = testDataKey, roots })
	for _, n := range []string{"alice", "bob", "carol"} {
		e.user(n)
	}
	key, _ := dpop.FromSigner(tk, "tpm")
	inTPM := enrolWith(e, "alice", key)
	attest(t, inTPM, tk)
	soft := enrolWithKey(e, "bob")
	bare := e.enrol("carol")
	o := &oidcEnv{env: e, app: e.app(admin.AppSpec{FastLogin: true, RedirectURIs: []string{oidcRedirect}}), ctx: oidc.ClientContext(context.Background(), http.DefaultClient)}
	if o.provider, err = oidc.NewProvider(o.ctx, e.url); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		confirm func(deviceapi.SignInRequest) string // the redirect
		acr     string
		amr     string
	}{
		{"a key in its TPM", func(r deviceapi.SignInRequest) string {
			return redirectOf(t, inTPM.call("POST", deviceapi.PathAuthorize, r))
		}, signin.ACRKeyTPM, "hwk user"},
		{"a key in software", func(r deviceapi.SignInRequest) string {
			return redirectOf(t, soft.call("POST", deviceapi.PathAuthorize, r))
		}, signin.ACRKeySoftware, "swk user"},
		{"a bare credential", func(r deviceapi.SignInRequest) string { u, _, _ := e.authorize(bare, r); return u }, signin.ACRNone, "swk user"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := o.config()
			verifier := oauth2.GenerateVerifier()
			q := o.signInWith(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("acr_values", signin.ACRKeyTPM)), c.confirm)
			_, idt := o.idToken(cfg, q.Get("code"), verifier)
			var cl struct {
				ACR string   `json:"acr"`
				AMR []string `json:"amr"`
			}
			if idt.Claims(&cl); cl.ACR != c.acr || strings.Join(cl.AMR, " ") != c.amr {
				t.Fatalf("acr %q amr %v; want %q and %s", cl.ACR, cl.AMR, c.acr, c.amr)
			}
		})
	}
}

// redirectOf is the redirect_url of a device authorize answer.
func redirectOf(t *testing.T, a answer) string {
	t.Helper()
	var r deviceapi.AuthorizeResponse
	if a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &r) != nil {
		t.Fatalf("authorize: %+v", a)
	}
	return r.RedirectURL
}
