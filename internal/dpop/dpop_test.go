package dpop

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func TestVerify(t *testing.T) {
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	const target = "https://idp.example/api/v1/device/me"
	check := Check{Method: "GET", URLs: []string{target}, AccessToken: "cred", Now: now, MaxAge: time.Minute, Skew: 5 * time.Second,
		Nonce: func(n string) bool { return n == "n1" }}
	proof := func(method, url, token, nonce string, at time.Time) string {
		p, err := k.Proof(method, url, token, nonce, at)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := proof("GET", target+"?since=5", "cred", "n1", now)
	v, err := Verify([]string{good}, check)
	if err != nil || v.JKT != k.Thumbprint() || v.JTI == "" {
		t.Fatalf("a good proof: %+v, %v", v, err)
	}

	// A token signed with a symmetric key or no key at all is no proof.
	hs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")},
		(&jose.SignerOptions{}).WithType(proofType))
	hsJWS, _ := hs.Sign([]byte(`{"jti":"x","htm":"GET","htu":"` + target + `","iat":1800000000,"ath":"` + TokenHash("cred") + `","nonce":"n1"}`))
	hsProof, _ := hsJWS.CompactSerialize()
	unsigned := strings.Join(strings.Split(good, ".")[:2], ".") + "."
	// A proof whose header names no type.
	untyped, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.priv}, &jose.SignerOptions{EmbedJWK: true})
	utJWS, _ := untyped.Sign([]byte(`{"jti":"x","htm":"GET","htu":"` + target + `","iat":1800000000}`))
	utProof, _ := utJWS.CompactSerialize()
	// Another key's signature under this key's header.
	other, _ := NewKey()
	otherProof := proof("GET", target, "cred", "n1", now)
	parts := strings.Split(otherProof, ".")
	otherSig := strings.Split(mustProof(t, other, "GET", target, "cred", "n1", now), ".")[2]
	forged := parts[0] + "." + parts[1] + "." + otherSig

	for _, c := range []struct {
		name   string
		values []string
		want   error
	}{
		{"no proof", nil, ErrMissing},
		{"two proofs", []string{good, good}, ErrInvalid},
		{"another method", []string{proof("POST", target, "cred", "n1", now)}, ErrInvalid},
		{"another URL", []string{proof("GET", "https://idp.example/api/v1/device/apps/wx1", "cred", "n1", now)}, ErrInvalid},
		{"another host", []string{proof("GET", "https://evil.example/api/v1/device/me", "cred", "n1", now)}, ErrInvalid},
		{"stale iat", []string{proof("GET", target, "cred", "n1", now.Add(-2*time.Minute))}, ErrInvalid},
		{"iat ahead", []string{proof("GET", target, "cred", "n1", now.Add(time.Minute))}, ErrInvalid},
		{"no ath", []string{proof("GET", target, "", "n1", now)}, ErrInvalid},
		{"another token's ath", []string{proof("GET", target, "stolen", "n1", now)}, ErrInvalid},
		{"no nonce", []string{proof("GET", target, "cred", "", now)}, ErrNonce},
		{"an old nonce", []string{proof("GET", target, "cred", "n0", now)}, ErrNonce},
		{"HS256", []string{hsProof}, ErrInvalid},
		{"unsigned", []string{unsigned}, ErrInvalid},
		{"untyped", []string{utProof}, ErrInvalid},
		{"signature of another key", []string{forged}, ErrInvalid},
		{"garbage", []string{"a.b.c"}, ErrInvalid},
		{"huge", []string{strings.Repeat("a", maxProof+1)}, ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Verify(c.values, check); !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

func mustProof(t *testing.T, k *Key, method, url, token, nonce string, now time.Time) string {
	t.Helper()
	p, err := k.Proof(method, url, token, nonce, now)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "st", "dpop-key.pem")
	a, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreate(path)
	if err != nil || b.Thumbprint() != a.Thumbprint() {
		t.Fatalf("reloaded key %v, %v: want the same thumbprint", b, err)
	}
}

func TestStatement(t *testing.T) {
	a, _ := NewKey()
	b, _ := NewKey()
	s, err := a.Sign("posture+jwt", []byte(`{"os":"linux"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := VerifyStatement(s, "posture+jwt", a.Thumbprint()); err != nil || string(got) != `{"os":"linux"}` {
		t.Fatalf("its own key: %q, %v", got, err)
	}
	for name, err := range map[string]error{
		"another key's thumbprint": func() error { _, err := VerifyStatement(s, "posture+jwt", b.Thumbprint()); return err }(),
		"another type":             func() error { _, err := VerifyStatement(s, "other+jwt", a.Thumbprint()); return err }(),
		"a proof presented": func() error {
			p, _ := a.Proof("GET", "https://x/y", "", "", time.Now())
			_, err := VerifyStatement(p, "posture+jwt", a.Thumbprint())
			return err
		}(),
		"tampered": func() error {
			_, err := VerifyStatement(s[:len(s)-4]+"AAAA", "posture+jwt", a.Thumbprint())
			return err
		}(),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v; want ErrInvalid", name, err)
		}
	}
	if _, err := a.Sign(proofType, nil); err == nil {
		t.Error("Sign made a statement typed as a proof")
	}
}
