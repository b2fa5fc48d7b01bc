package server_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"math/big"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/keys"
	"github.com/scanfree/scanfree/backend/server"
)

func rsaFromJWK(t *testing.T, n, e string) *rsa.PublicKey {
	t.Helper()
	nb, err1 := base64.RawURLEncoding.DecodeString(n)
	eb, err2 := base64.RawURLEncoding.DecodeString(e)
	if err1 != nil || err2 != nil {
		t.Fatal("bad JWK")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: int(new(big.Int).SetBytes(eb).Int64())}
}

// TestOIDCKeyRotation rotates the signing keys while tokens are in
// flight, with a second replica on the same database: the new key is in
// every replica's JWKS before it signs, tokens signed before still
// verify, and the old key leaves once its tokens have expired.
func TestOIDCKeyRotation(t *testing.T) {
	o := newOIDCEnv(t, admin.AppSpec{})
	replica, err := server.New(o.store, server.Config{PublicURL: o.url, DataKey: testDataKey, Now: o.clock})
	if err != nil {
		t.Fatal(err)
	}
	r2 := httptest.NewServer(replica.Handler())
	defer r2.Close()
	ctx := context.Background()
	// Replica 2's JWKS verifies what replica 1 signs.
	v2 := oidc.NewVerifier(o.url, oidc.NewRemoteKeySet(o.ctx, r2.URL+"/oauth2/jwks"),
		&oidc.Config{ClientID: o.app.AppID, SupportedSigningAlgs: []string{oidc.RS256}, Now: o.clock})

	idToken := func() string {
		code, v := o.code(oidc.Nonce("n"))
		tok, err := o.config().Exchange(o.ctx, code, oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		return raw
	}
	kidsIn := func() map[string]bool {
		var set struct {
			Keys []struct {
				KID string `json:"kid"`
			} `json:"keys"`
		}
		o.getJSON("/oauth2/jwks", &set)
		m := map[string]bool{}
		for _, k := range set.Keys {
			m[k.KID] = true
		}
		return m
	}
	before := idToken()
	oldKID := jwsHeader(t, before)["kid"].(string)

	ring := keys.New(o.store, testDataKey, time.Hour, o.clock)
	made, err := ring.Rotate(ctx, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	newKID := made[0].KID // RS256
	if !kidsIn()[newKID] {
		t.Fatal("the new key is not published at once")
	}
	inFlight := idToken()
	if kid := jwsHeader(t, inFlight)["kid"]; kid != oldKID {
		t.Fatalf("a token was signed with %v before the new key's sign-after", kid)
	}
	o.advance(11 * time.Minute)
	after := idToken()
	if kid := jwsHeader(t, after)["kid"]; kid != newKID {
		t.Fatalf("after sign-after the token is signed with %v, want %s", kid, newKID)
	}
	for name, raw := range map[string]string{"before": before, "in flight": inFlight, "after": after} {
		if _, err := v2.Verify(ctx, raw); err != nil {
			t.Fatalf("%s rotation: replica 2's JWKS does not verify: %v", name, err)
		}
	}
	if !kidsIn()[oldKID] {
		t.Fatal("the old key left the JWKS while its tokens are valid")
	}
	o.advance(time.Hour)
	if kidsIn()[oldKID] {
		t.Fatal("the old key is still published after its last token expired")
	}
	if n, err := ring.Prune(ctx); err != nil || n < 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
}
