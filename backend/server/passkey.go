package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/backend/storage"
)

// Passkeys (WebAuthn): a key in the person's authenticator (a phone, a
// laptop's TPM or secure enclave, a security key), unlocked by her
// fingerprint, face or PIN, and bound to this server's host (the RP ID):
// a look-alike site cannot ask for it, so it cannot be phished. Sign-in
// is discoverable (no username: the authenticator offers the person's
// passkeys for this site) and needs user verification.
//
// A ceremony's challenge is made without storing anything (so that
// showing a sign-in page costs no write): 16 random bytes, when it
// expires and a MAC over both with a key every replica shares, bound to
// the person when she registers. It is spent when answered
// (Storage.SpendChallenge), so one answer signs in once even with an
// authenticator that keeps no counter. The counter of one that does must
// go up at every sign-in: a counter going back is a cloned authenticator,
// refused and logged.

// passkeyTTL is how long a page's passkey challenge may be answered.
const passkeyTTL = 5 * time.Minute

// challengeSecret names the MAC key of challenges in the store.
const challengeSecret = "passkey-challenge-key"

// newRelyingParty returns the WebAuthn configuration of the server at
// public: its host is the RP ID, its origin the only one accepted. It
// fails for a host that cannot be an RP ID (an IP address): that server
// offers no passkeys.
func newRelyingParty(public *url.URL) (*webauthn.WebAuthn, error) {
	return webauthn.New(&webauthn.Config{
		RPID:          public.Hostname(),
		RPDisplayName: public.Hostname(),
		RPOrigins:     []string{public.Scheme + "://" + public.Host},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: passkeyTTL, TimeoutUVD: passkeyTTL},
			Registration: webauthn.TimeoutConfig{Timeout: passkeyTTL, TimeoutUVD: passkeyTTL},
		},
	})
}

// sharedKey is a key every replica reads from the store once.
type sharedKey struct {
	mu  sync.Mutex
	key []byte
}

func (k *sharedKey) get(ctx context.Context, store storage.Storage, name string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key != nil {
		return k.key, nil
	}
	fresh := make([]byte, 32)
	rand.Read(fresh)
	key, err := store.Secret(ctx, name, fresh)
	if err != nil {
		return nil, fmt.Errorf("read the %s: %w", name, err)
	}
	k.key = key
	return key, nil
}

// challengeMAC is the MAC of a challenge's random part and expiry, for
// bound ("" for a sign-in, the person's id for a registration).
func challengeMAC(key, body []byte, bound string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	m.Write([]byte(bound))
	return m.Sum(nil)[:16]
}

// newChallenge makes a challenge good for passkeyTTL.
func (s *Server) newChallenge(ctx context.Context, bound string) ([]byte, error) {
	key, err := s.challengeKey.get(ctx, s.store, challengeSecret)
	if err != nil {
		return nil, err
	}
	body := make([]byte, 24)
	rand.Read(body[:16])
	binary.BigEndian.PutUint64(body[16:], uint64(s.now().Add(passkeyTTL).Unix()))
	return append(body, challengeMAC(key, body, bound)...), nil
}

// Reasons a challenge is not taken.
var (
	errChallengeForged  = errors.New("the challenge was not made here, or for someone else")
	errChallengeExpired = errors.New("the challenge expired")
	errChallengeSpent   = errors.New("the challenge was answered before")
)

// spendChallenge checks that c (base64url, as the client data carries it)
// was made here for bound and is still good, and spends it: an error
// when it is not.
func (s *Server) spendChallenge(ctx context.Context, c, bound string) error {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) != 40 {
		return errChallengeForged
	}
	key, err := s.challengeKey.get(ctx, s.store, challengeSecret)
	if err != nil {
		return err
	}
	if !hmac.Equal(raw[24:], challengeMAC(key, raw[:24], bound)) {
		return errChallengeForged
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(raw[16:24])), 0)
	if !s.now().Before(expires) {
		return errChallengeExpired
	}
	sum := sha256.Sum256(raw)
	if err := s.store.SpendChallenge(ctx, sum[:], expires); errors.Is(err, storage.ErrAlreadyUsed) {
		return errChallengeSpent
	} else if err != nil {
		return fmt.Errorf("spend the challenge: %w", err)
	}
	return nil
}

// passkeyUser is a person as WebAuthn sees her: her id is the user
// handle her passkeys keep.
type passkeyUser struct {
	u     storage.User
	creds []webauthn.Credential
}

func (p passkeyUser) WebAuthnID() []byte   { return []byte(p.u.ID) }
func (p passkeyUser) WebAuthnName() string { return p.u.Username }
func (p passkeyUser) WebAuthnDisplayName() string {
	if p.u.Nickname != "" {
		return p.u.Nickname
	}
	return p.u.Username
}
func (p passkeyUser) WebAuthnCredentials() []webauthn.Credential { return p.creds }

// credential decodes a stored passkey, with its counter and backup state
// as the store last recorded them.
func credential(p storage.Passkey) (webauthn.Credential, error) {
	var c webauthn.Credential
	if err := json.Unmarshal(p.Credential, &c); err != nil {
		return c, fmt.Errorf("read passkey: %w", err)
	}
	c.Authenticator.SignCount = p.SignCount
	c.Flags.BackupState = p.BackupState
	return c, nil
}

// passkeyHow is how a passkey signs in: bound to its authenticator, or
// one its platform syncs.
func passkeyHow(backupEligible bool) signin.How {
	if backupEligible {
		return signin.ByPasskeySynced
	}
	return signin.ByPasskey
}

// passkeyID is a credential id as URLs carry it.
func passkeyID(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// loginOptions are the options of a discoverable sign-in, as JSON for
// the page's script; "" when they cannot be made (the page then offers
// no passkey).
func (s *Server) loginOptions(ctx context.Context) string {
	if s.rp == nil {
		return ""
	}
	c, err := s.newChallenge(ctx, "")
	if err != nil {
		s.log.ErrorContext(ctx, "passkey challenge", "err", err)
		return ""
	}
	opts, _, err := s.rp.BeginDiscoverableLogin(webauthn.WithChallenge(c), webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		s.log.ErrorContext(ctx, "passkey options", "err", err)
		return ""
	}
	b, _ := json.Marshal(opts) // {"publicKey": …}, as navigator.credentials.get takes it
	return string(b)
}

// passkeyForm is the "Sign in with a passkey" form of a page
// (templates/passkey.html): the options, where to go after, and, on the
// code form, the sign-in whose password was right.
type passkeyForm struct{ Options, Next, Step string }

// passkeyOffer returns the passkey form of a page going on to next, and
// marks p as running the passkey script; an empty form (no button) when
// this server cannot offer passkeys.
func (s *Server) passkeyOffer(ctx context.Context, p *page, next, step string) passkeyForm {
	f := passkeyForm{Options: s.loginOptions(ctx), Next: next, Step: step}
	if f.Options != "" {
		p.script = true
	}
	return f
}
