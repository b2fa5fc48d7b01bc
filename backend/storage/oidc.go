package storage

import (
	"context"
	"time"
)

// OIDC keeps what the OpenID Connect face shares across replicas.
type OIDC interface {
	// CreateAuthRequest stores an authorization request while the hosted
	// page shows it; an id stored before is ErrAlreadyExists.
	CreateAuthRequest(ctx context.Context, ar AuthRequest) error
	GetAuthRequest(ctx context.Context, id string) (AuthRequest, error)

	// CreateSigningKey stores k; a kid stored before is ErrAlreadyExists.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// CreateFirstSigningKey stores k unless a key of k.Alg is stored, as
	// one step across replicas starting together, and reports whether it
	// stored k.
	CreateFirstSigningKey(ctx context.Context, k SigningKey) (bool, error)
	// RaiseTokenTTL records that a server issues id_tokens living ttl:
	// every key whose TokenTTL is shorter gets ttl.
	RaiseTokenTTL(ctx context.Context, ttl time.Duration) error
	// ListSigningKeys returns every key, oldest first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// DeleteSigningKey deletes key kid; a missing key is not an error.
	DeleteSigningKey(ctx context.Context, kid string) error
}

// Consents keeps what a person allowed desktop apps that sign in through
// the daemon, and each such app's session_key for the person.
type Consents interface {
	// PutConsent stores c's LoginAt and PhoneAt for (c.UserID, c.AppID),
	// creating the record or keeping its session key.
	PutConsent(ctx context.Context, c Consent) error
	GetConsent(ctx context.Context, userID, appID string) (Consent, error)
	// ListConsents returns userID's consents, oldest first.
	ListConsents(ctx context.Context, userID string) ([]Consent, error)
	// SetSessionKey replaces the sealed session key of an existing
	// consent; ErrNotFound when the consent was withdrawn.
	SetSessionKey(ctx context.Context, userID, appID string, sealed []byte, at time.Time) error
	// DeleteConsent withdraws a consent with its session key; a missing
	// one is not an error.
	DeleteConsent(ctx context.Context, userID, appID string) error
}

// Consent is what a person allowed one desktop app.
type Consent struct {
	UserID, AppID string
	LoginAt       time.Time // when they allowed the app to sign them in
	PhoneAt       time.Time // when they allowed it their phone number; zero: never
	SessionKey    []byte    // sealed with the data key; nil before the first jscode2session
	SessionAt     time.Time
}

// AuthRequest is an OpenID Connect authorization request, validated and
// kept while the hosted page asks the person to sign in. The page and the
// desktop daemon carry only its ID (in the state field).
type AuthRequest struct {
	ID            string
	ClientID      string
	RedirectURI   string
	Scope         string // space-separated, includes openid
	State         string // the relying party's own state
	Nonce         string
	CodeChallenge string // S256
	Prompt        string
	MaxAge        time.Duration // -1: not asked
	LoginHint     string
	// ACRValues are the acr values the relying party asked for
	// (space-separated), "" when none.
	ACRValues string
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is when its one code was minted; zero while it waits.
	UsedAt time.Time `json:"-"`
}

// SigningKey is one id_token signing key. The private key is sealed with
// the server's data key, which the database never holds.
type SigningKey struct {
	KID       string
	Alg       string // RS256 or ES256
	Sealed    []byte // the PKCS #8 private key, sealed
	Public    []byte // the public JWK, as JSON
	CreatedAt time.Time
	// SignFrom is when it starts signing: it is published in the JWKS
	// from CreatedAt, so relying parties know it before it is used.
	SignFrom time.Time
	// TokenTTL is the longest life of an id_token it signs, as the servers
	// that sign with it said (RaiseTokenTTL); pruning waits that long after
	// it was replaced. Zero: not known (a key from before it was kept).
	TokenTTL time.Duration
}
