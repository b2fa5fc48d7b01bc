// Package storage defines what the identity backend keeps: accounts, apps,
// enrolled devices, device authorizations, authorization codes, tokens, web
// sessions, grants, the audit log, and what several replicas must agree on:
// QR login tickets (with a change feed), per-address attempt counters and
// the device flow's polling state.
//
// Every implementation passes the suite in storage/conformance. Secrets,
// codes and tokens never reach a Storage in the clear: callers hand in and
// look up by their SHA-256 hashes, so a stolen database yields nothing that
// can be replayed. The one code a QR ticket carries to its page is sealed
// by the caller before it is stored (Ticket.SealedCode).
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
	// ErrRevoked reports that a token's sign-in (its family) was taken
	// back: by its device, its app, its person or a detected reuse. It is
	// not a reuse: presenting a revoked token raises no alarm.
	ErrRevoked = errors.New("revoked")
	// ErrUnavailable reports that the database cannot be reached; the
	// caller may retry later.
	ErrUnavailable = errors.New("database unavailable")
)

// User is an account.
type User struct {
	ID           string
	Username     string
	Nickname     string
	AvatarURL    string
	PasswordHash string // argon2id in PHC string format
	// PhoneSealed is the verified phone number, sealed with the server's
	// data key (never stored in the clear); nil when there is none.
	PhoneSealed []byte
	CreatedAt   time.Time
}

// Phone is a verified phone number as WeChat's getPhoneNumber gives it;
// User.PhoneSealed is its JSON, sealed with the data key (for secret.PurposePhone)
// and bound to the user's id.
type Phone struct {
	CountryCode string `json:"countryCode"`
	Pure        string `json:"purePhoneNumber"`
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
	// Public marks an app that cannot keep a secret (a native or
	// single-page OIDC client): it has no secret and must use PKCE.
	Public bool
	// IDTokenAlg is the JWS algorithm of the app's OIDC id_tokens:
	// "RS256" (also when empty, as OIDC Core requires) or "ES256".
	IDTokenAlg string
	CreatedAt  time.Time
}

// OwnOwner is the owner of an app created without one: itself alone, so
// that unrelated relying parties never share a unionid.
func OwnOwner(appID string) string { return "app:" + appID }

// SharedOwner reports whether a's owner was named by an operator to group
// apps (whose unionids then agree), rather than being a's own.
func (a App) SharedOwner() bool { return a.Owner != OwnOwner(a.AppID) }

// Face is the protocol a code or token belongs to. A code of one face is
// never redeemed at another's endpoint, and a token works only where its
// face's rules (such as refresh rotation) hold.
type Face string

// Faces.
const (
	FaceWeChat Face = "wechat" // /sns/* and /connect/qrconnect
	FaceOIDC   Face = "oidc"   // /oauth2/*
	FaceJSCode Face = "jscode" // desktop apps: the daemon's login codes, /sns/jscode2session
)

// String returns the face's name; the empty Face is FaceWeChat, the face
// every code and token had before there were others.
func (f Face) String() string {
	if f == "" {
		return string(FaceWeChat)
	}
	return string(f)
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
	RequestIP      string // the client address that started it, shown to whoever approves
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

	Face Face // FaceWeChat when empty
	// OIDC binds an OpenID Connect code: the nonce for its id_token, the
	// PKCE S256 challenge its redeemer must answer, when and how the user
	// authenticated (the id_token's auth_time and amr).
	Nonce         string
	CodeChallenge string
	AuthTime      time.Time
	AMR           []string

	// AuthRequestID names the OpenID Connect request the code answers.
	// CreateSignIn consumes that request with the code, so one request
	// yields one code (ErrAlreadyUsed the second time).
	AuthRequestID string
}

// TokenKind tells access tokens from refresh tokens.
type TokenKind string

// Token kinds.
const (
	AccessToken  TokenKind = "access"
	RefreshToken TokenKind = "refresh"
)

// Token is an access or refresh token issued to an app for a user.
//
// Every token belongs to a family: the sign-in it descends from, named by
// the hash of the code that began it (CodeHash). The family knows its
// app, person and device, outlives the code's row, and is what every
// revocation goes by; its rotation and revocation are serialized.
type Token struct {
	Hash      []byte
	Kind      TokenKind
	AppID     string
	UserID    string
	CodeHash  []byte // the family: the code this token descends from
	Scope     string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // taken back (with its family, or alone)
	RotatedAt time.Time // a refresh token replaced by a newer one
	Face      Face      // FaceWeChat when empty
}

// Live reports whether t is neither revoked, rotated nor expired at now.
func (t Token) Live(now time.Time) bool {
	return t.RevokedAt.IsZero() && t.RotatedAt.IsZero() && now.Before(t.ExpiresAt)
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

// TicketStatus is a QR ticket's state, numbered as the seeds' wx_errcode
// values.
type TicketStatus int

// QR ticket states.
const (
	TicketWaiting   TicketStatus = 408
	TicketScanned   TicketStatus = 404
	TicketConfirmed TicketStatus = 405
	TicketCancelled TicketStatus = 403
	TicketExpired   TicketStatus = 402
)

// Ticket is one QR login of the hosted page.
type Ticket struct {
	UUID        string
	AppID       string
	RedirectURI string
	Scope       string
	State       string
	Status      TicketStatus
	UserID      string // who scanned
	Nickname    string
	HeadImgURL  string
	SealedCode  []byte // the minted code, sealed by the server; set once confirmed
	CreatedAt   time.Time
	ExpiresAt   time.Time
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
	// RevokeDevice marks the device revoked and, in the same transaction,
	// takes back what it issued: its codes not yet redeemed are deleted
	// and every family it began is revoked, however old. Revoking twice
	// is not an error.
	RevokeDevice(ctx context.Context, id string, now time.Time) error

	CreateDeviceAuth(ctx context.Context, da DeviceAuth) error
	GetDeviceAuth(ctx context.Context, deviceCodeHash []byte) (DeviceAuth, error)
	GetDeviceAuthByUserCode(ctx context.Context, userCode string) (DeviceAuth, error)
	// PollDeviceAuth records a token poll at now. A poll sooner than the
	// interval after the previous one raises the interval by step and
	// reports slowDown (RFC 8628 3.5). Check and update are one atomic
	// step, so two replicas polled at once cannot both find it in time.
	PollDeviceAuth(ctx context.Context, deviceCodeHash []byte, now time.Time, step time.Duration) (slowDown bool, interval time.Duration, err error)
	// DecideDeviceAuth approves or denies a pending authorization for userID.
	// It returns ErrNotPending when it was decided before.
	DecideDeviceAuth(ctx context.Context, userCode, userID string, approve bool) error
	// CompleteDeviceAuth atomically turns an approved authorization into the
	// enrolled device d. It returns ErrNotPending unless the authorization is
	// approved and not yet consumed, so a device_code yields one credential.
	CompleteDeviceAuth(ctx context.Context, deviceCodeHash []byte, d Device) error

	// CreateSignIn is one sign-in in one transaction: it stores code c with
	// the user's grant of the app, consumes the authorization request
	// c.AuthRequestID (when set), marks the device c.DeviceID (when set)
	// seen at c.CreatedAt, and appends the audit event e. Either all of it
	// is stored or nothing: an unknown device or request is ErrNotFound,
	// a request consumed before ErrAlreadyUsed, a code hash stored before
	// ErrAlreadyExists.
	CreateSignIn(ctx context.Context, c Code, e Event) error
	// CreateAppSignIn is a desktop app's first sign-in, in one
	// transaction: it records the person's consent a (keeping the session
	// key of one stored before) with its audit event allowed, then does
	// what CreateSignIn does with c and e. Either all of it is stored or
	// nothing.
	CreateAppSignIn(ctx context.Context, a Consent, allowed Event, c Code, e Event) error
	GetCode(ctx context.Context, hash []byte) (Code, error)
	// RedeemCode atomically marks an unused code used, begins its family
	// (the code's app, person and device) and stores the tokens issued for
	// it. When the code was used before it returns ErrAlreadyUsed and
	// stores nothing; exactly one of any number of concurrent calls wins.
	RedeemCode(ctx context.Context, hash []byte, now time.Time, issued []Token) error
	// RevokeFamily revokes the family that began with code codeHash and
	// every token of it, serialized with its rotations: a rotation either
	// finished before (its tokens are revoked too) or fails ErrRevoked.
	RevokeFamily(ctx context.Context, codeHash []byte, now time.Time) error

	// CreateToken stores t as it is, in no family's lock (tests, imports).
	CreateToken(ctx context.Context, t Token) error
	GetToken(ctx context.Context, hash []byte) (Token, error)
	// RotateToken atomically retires the live refresh token hash and
	// stores the tokens issued in its place, serialized with its family's
	// revocation. A token rotated before is ErrAlreadyUsed (a reuse); a
	// token or family taken back is ErrRevoked; nothing is stored then.
	// Of concurrent rotations of one refresh token exactly one wins.
	RotateToken(ctx context.Context, hash []byte, now time.Time, issued []Token) error
	// ExtendFamily stores tokens issued on the live refresh token hash
	// without retiring it (the WeChat face's refresh), serialized with the
	// family's revocation: ErrRevoked when it or its family was taken back,
	// ErrAlreadyUsed when it was rotated.
	ExtendFamily(ctx context.Context, hash []byte, now time.Time, issued []Token) error
	// RevokeToken revokes one token; revoking twice is not an error.
	RevokeToken(ctx context.Context, hash []byte, now time.Time) error

	OIDC
	Consents

	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, hash []byte) (Session, error)
	DeleteSession(ctx context.Context, hash []byte) error

	ListGrants(ctx context.Context, userID string) ([]Grant, error)
	// RevokeGrant takes back what userID gave appID, in one transaction:
	// the grant goes, the app's codes for the user not yet redeemed are
	// deleted, its families for the user revoked, and the person's
	// desktop-app consent to it (with its session key) withdrawn. Revoking an app the
	// user never signed in to is not an error.
	RevokeGrant(ctx context.Context, userID, appID string, now time.Time) error

	AddEvent(ctx context.Context, e Event) error
	// ListEvents returns the newest events of userID first; kind "" means all kinds.
	ListEvents(ctx context.Context, userID, kind string, limit int) ([]Event, error)

	// Secret returns the server secret called name, storing fresh on first use.
	// Every caller gets the value that was stored first. With fresh nil it
	// only reads: ErrNotFound when none is stored.
	Secret(ctx context.Context, name string, fresh []byte) ([]byte, error)
	// DeleteSecret deletes the secret name; a missing one is not an error.
	DeleteSecret(ctx context.Context, name string) error

	Tickets
	Attempts

	// Purge deletes what is past keeping (see PurgeBefore) and returns
	// how many rows went.
	Purge(ctx context.Context, before PurgeBefore) (int64, error)
	// Ping reports an error unless the database answers.
	Ping(ctx context.Context) error

	Close() error
}

// PurgeBefore says what Purge deletes. A zero time deletes nothing of
// its kind.
type PurgeBefore struct {
	// Expired: QR tickets, attempt windows, web sessions, device
	// authorizations and tokens that expired before it.
	Expired time.Time
	// Codes: codes that expired before it, and families begun before it,
	// once no token of theirs is left: a code presented again must still
	// be found to revoke its family, and a family is what revocation goes
	// by. It lags Expired by the longest life of a token a code issues.
	Codes time.Time
	// Events: audit events recorded before it.
	Events time.Time
}

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
	CreatedAt     time.Time
	ExpiresAt     time.Time
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

// Tickets keeps the hosted page's QR tickets, shared by every replica.
type Tickets interface {
	// CreateTicket stores t; a uuid stored before is ErrAlreadyExists.
	CreateTicket(ctx context.Context, t Ticket) error
	GetTicket(ctx context.Context, uuid string) (Ticket, error)
	// UpdateTicket atomically applies fn to ticket uuid and stores the
	// result; when fn fails nothing is stored and its error is returned.
	// No other change to the ticket interleaves. Once it is stored, every
	// WatchTickets of every replica hears of the change.
	UpdateTicket(ctx context.Context, uuid string, fn func(t *Ticket) error) (Ticket, error)
	// WatchTickets calls changed with the uuid of every ticket changed
	// through this database until ctx ends, then returns ctx's error.
	// changed("") means changes may have been missed (a lost connection
	// was re-established): every waiter must read its ticket again.
	// changed is called from one goroutine and must not block.
	WatchTickets(ctx context.Context, changed func(uuid string)) error
	// CountTickets counts the tickets that expire after now.
	CountTickets(ctx context.Context, now time.Time) (int, error)
}

// Attempts counts tries per key (a client address, a username) in fixed
// windows that begin with a key's first try, so a budget does not refill
// while someone keeps trying. Every replica counts into the same windows.
type Attempts interface {
	// CountAttempts returns the tries of key in its current window.
	CountAttempts(ctx context.Context, key string, window time.Duration, now time.Time) (int, error)
	// AddAttempt counts one try of key unless max were counted in the
	// current window already, and reports whether it counted. Check and
	// count are one atomic step across all callers.
	AddAttempt(ctx context.Context, key string, max int, window time.Duration, now time.Time) (bool, error)
	// ReleaseAttempt gives back one try of key in its current window (a
	// reserved try that turned out a success); never below zero.
	ReleaseAttempt(ctx context.Context, key string, now time.Time) error
	// ResetAttempts forgets key's tries.
	ResetAttempts(ctx context.Context, key string) error
}

// PurgeTarget is one DELETE of Purge: rows of Table whose Column (Unix
// milliseconds) is before Before and, when set, for which Unless finds no
// row (an SQL subquery both stores accept).
type PurgeTarget struct {
	Table, Column string
	Before        time.Time
	Unless        string
}

// Targets lists the deletes of p, in an order that keeps references
// intact, for every store to run the same ones.
func (p PurgeBefore) Targets() []PurgeTarget {
	return []PurgeTarget{
		{"qr_tickets", "expires_at", p.Expired, ""},
		{"attempts", "expires_at", p.Expired, ""},
		{"sessions", "expires_at", p.Expired, ""},
		{"device_auths", "expires_at", p.Expired, ""},
		{"tokens", "expires_at", p.Expired, ""},
		{"auth_requests", "expires_at", p.Expired, ""},
		{"codes", "expires_at", p.Codes, "SELECT 1 FROM tokens WHERE tokens.code_hash = codes.hash"},
		{"families", "created_at", p.Codes, "SELECT 1 FROM tokens WHERE tokens.code_hash = families.id"},
		{"events", "created_at", p.Events, ""},
	}
}
