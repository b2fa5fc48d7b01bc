// Package storage defines what the identity backend keeps: accounts, apps,
// enrolled devices, device authorizations, authorization codes, tokens, web
// sessions, grants and the audit log.
//
// Every implementation passes the suite in storage/conformance. Secrets,
// codes and tokens never reach a Storage in the clear: callers hand in and
// look up by their SHA-256 hashes, so a stolen database yields nothing that
// can be replayed.
package storage

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors returned by every implementation.
var (
	// ErrNotFound reports that the record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists reports a violated uniqueness constraint
	// (username, appid, user_code, hashes).
	ErrAlreadyExists = errors.New("already exists")
	// ErrAlreadyUsed reports that a single-use code was redeemed before.
	ErrAlreadyUsed = errors.New("already used")
	// ErrNotPending reports that a device authorization was already decided
	// or consumed.
	ErrNotPending = errors.New("not pending")
)

// User is an account.
type User struct {
	ID           string
	Username     string
	Nickname     string
	AvatarURL    string
	PasswordHash string // argon2id in PHC string format
	CreatedAt    time.Time
}

// App is a relying party registered with the backend.
type App struct {
	AppID        string
	Name         string
	IconURL      string
	Owner        string // unionid scope: apps with one owner share unionids
	SecretHash   []byte
	RedirectURIs []string
	Domains      []string
	FastLogin    bool
	CreatedAt    time.Time
}

// Device is a desktop enrolled to a user through the device flow.
type Device struct {
	ID             string
	UserID         string
	Name           string
	OS             string
	CredentialHash []byte
	CreatedAt      time.Time
	LastSeenAt     time.Time
	RevokedAt      time.Time // zero while active
}

// Active reports whether the device has not been revoked.
func (d Device) Active() bool { return d.RevokedAt.IsZero() }

// DeviceAuthStatus is the state of an RFC 8628 device authorization.
type DeviceAuthStatus string

// Device authorization states.
const (
	DeviceAuthPending  DeviceAuthStatus = "pending"
	DeviceAuthApproved DeviceAuthStatus = "approved"
	DeviceAuthDenied   DeviceAuthStatus = "denied"
	DeviceAuthConsumed DeviceAuthStatus = "consumed"
)

// DeviceAuth is one RFC 8628 device authorization request.
type DeviceAuth struct {
	DeviceCodeHash []byte
	UserCode       string // normalized: 8 characters, no separator
	ClientID       string
	DeviceName     string
	OS             string
	Status         DeviceAuthStatus
	UserID         string // set once approved or denied
	DeviceID       string // set once consumed
	Interval       time.Duration
	CreatedAt      time.Time
	ExpiresAt      time.Time
	LastPollAt     time.Time
}

// Code is an authorization code, bound to app, redirect_uri, user and device.
type Code struct {
	Hash        []byte
	AppID       string
	RedirectURI string
	UserID      string
	DeviceID    string // empty when minted through a QR ticket confirmed on the web
	Scope       string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      time.Time // zero while unused
}

// TokenKind tells access tokens from refresh tokens.
type TokenKind string

// Token kinds.
const (
	AccessToken  TokenKind = "access"
	RefreshToken TokenKind = "refresh"
)

// Token is an access or refresh token issued to an app for a user.
type Token struct {
	Hash      []byte
	Kind      TokenKind
	AppID     string
	UserID    string
	CodeHash  []byte // the code this token descends from; reuse of it revokes the token
	Scope     string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time
}

// Session is a signed-in web session of the hosted pages.
type Session struct {
	Hash      []byte
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Grant records that a user authorized an app.
type Grant struct {
	UserID  string
	AppID   string
	Scope   string
	FirstAt time.Time
	LastAt  time.Time
}

// Event is one audit log entry.
type Event struct {
	ID        int64
	UserID    string
	Kind      string // e.g. "signin", "login", "device_enrolled", "device_revoked"
	AppID     string
	DeviceID  string
	Detail    string
	CreatedAt time.Time
}

// Storage is the backend's persistence. Implementations are safe for
// concurrent use.
type Storage interface {
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByUsername(ctx context.Context, username string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)

	CreateApp(ctx context.Context, a App) error
	GetApp(ctx context.Context, appID string) (App, error)
	ListApps(ctx context.Context) ([]App, error)

	GetDevice(ctx context.Context, id string) (Device, error)
	GetDeviceByCredential(ctx context.Context, credentialHash []byte) (Device, error)
	// ListDevices lists the devices of userID, or of everyone when userID is "".
	ListDevices(ctx context.Context, userID string) ([]Device, error)
	// RevokeDevice marks the device revoked; revoking twice is not an error.
	RevokeDevice(ctx context.Context, id string, now time.Time) error

	CreateDeviceAuth(ctx context.Context, da DeviceAuth) error
	GetDeviceAuth(ctx context.Context, deviceCodeHash []byte) (DeviceAuth, error)
	GetDeviceAuthByUserCode(ctx context.Context, userCode string) (DeviceAuth, error)
	// UpdateDeviceAuthPoll records a token poll and the (possibly raised) interval.
	UpdateDeviceAuthPoll(ctx context.Context, deviceCodeHash []byte, at time.Time, interval time.Duration) error
	// DecideDeviceAuth approves or denies a pending authorization for userID.
	// It returns ErrNotPending when it was decided before.
	DecideDeviceAuth(ctx context.Context, userCode, userID string, approve bool) error
	// CompleteDeviceAuth atomically turns an approved authorization into the
	// enrolled device d. It returns ErrNotPending unless the authorization is
	// approved and not yet consumed, so a device_code yields one credential.
	CompleteDeviceAuth(ctx context.Context, deviceCodeHash []byte, d Device) error

	// CreateCode stores a new code and records the user's grant of the app.
	CreateCode(ctx context.Context, c Code) error
	// CreateSignIn is one sign-in in one transaction: it stores code c with
	// the user's grant of the app, marks the device c.DeviceID (when set)
	// seen at c.CreatedAt, and appends the audit event e. Either all of it
	// is stored or nothing: an unknown device is ErrNotFound, a code hash
	// stored before ErrAlreadyExists.
	CreateSignIn(ctx context.Context, c Code, e Event) error
	GetCode(ctx context.Context, hash []byte) (Code, error)
	// RedeemCode atomically marks an unused code used and stores the tokens
	// issued for it. When the code was used before it returns ErrAlreadyUsed
	// and stores nothing; exactly one of any number of concurrent calls wins.
	RedeemCode(ctx context.Context, hash []byte, now time.Time, issued []Token) error
	// RevokeTokensByCode revokes every token descending from the code.
	RevokeTokensByCode(ctx context.Context, codeHash []byte, now time.Time) error

	CreateToken(ctx context.Context, t Token) error
	GetToken(ctx context.Context, hash []byte) (Token, error)

	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, hash []byte) (Session, error)
	DeleteSession(ctx context.Context, hash []byte) error

	ListGrants(ctx context.Context, userID string) ([]Grant, error)

	AddEvent(ctx context.Context, e Event) error
	// ListEvents returns the newest events of userID first; kind "" means all kinds.
	ListEvents(ctx context.Context, userID, kind string, limit int) ([]Event, error)

	// Secret returns the server secret called name, storing fresh on first use.
	// Every caller gets the value that was stored first.
	Secret(ctx context.Context, name string, fresh []byte) ([]byte, error)

	Close() error
}
