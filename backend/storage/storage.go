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
	"encoding/json"
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
	// ErrTooManyDevices reports that a person has as many active desktops
	// as a new one may join.
	ErrTooManyDevices = errors.New("too many active devices")
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
	// Role is what the person may do to the service: RoleAdmin,
	// RoleAuditor, or "" (only sign in).
	Role string
	// DisabledAt is when an operator disabled the account (zero: active).
	DisabledAt time.Time
}

// Roles of a User.
const (
	RoleAdmin   = "admin"   // everything
	RoleAuditor = "auditor" // reads the log and the lists, changes nothing
)

// Active reports whether the person may sign in.
func (u User) Active() bool { return u.DisabledAt.IsZero() }

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
	// OldSecretHash is the secret a rotation replaced, still accepted
	// until OldSecretUntil (the grace period the operator chose).
	OldSecretHash  []byte
	OldSecretUntil time.Time
	// DisabledAt is when an operator disabled the app (zero: active): no
	// sign-in to it, no exchange, refresh or userinfo for it.
	DisabledAt time.Time
	// Fence is where the app may be signed in to from.
	Fence Fence
}

// Fence limits where an app may be signed in to from: the client address
// that confirms the sign-in must be in one of CIDRs and, by the server's
// GeoIP database, in one of Countries (ISO 3166 codes). An empty list
// does not limit.
type Fence struct {
	CIDRs     []string `json:"cidrs,omitempty"`
	Countries []string `json:"countries,omitempty"`
	// Groups, when set, are the directory groups (Identity.Groups) one
	// of which a person must be in to sign in to the app.
	Groups []string `json:"groups,omitempty"`
	// PasswordSignin is how the app takes a password; "" as the server
	// does (serve --password-signin).
	PasswordSignin PasswordPolicy `json:"password_signin,omitempty"`
	// Device is what a desktop must be for the app to be signed in to
	// through it.
	Device DevicePolicy `json:"device,omitzero"`
}

// DevicePolicy is what a desktop must be for an app to be signed in to
// through it: scan-free, a QR code confirmed with `scanfreed approve`, a
// desktop app. A phone's QR confirmation or a password involves no
// desktop and stays as the app allows it. The zero value asks nothing.
type DevicePolicy struct {
	// RequireKey is the least protection of the desktop's proof key, as
	// the backend verified it: "software" (any proven key, no bare
	// credential), "platform" (a TPM or the OS's key store), "tpm".
	RequireKey string `json:"require_key,omitempty"`
	// RequireDiskEncryption asks for an encrypted system disk.
	RequireDiskEncryption bool `json:"require_disk_encryption,omitempty"`
	// MinOS maps an OS (linux, windows, darwin) to its lowest version
	// allowed (a kernel release, a Windows build such as 10.0.19045, a
	// macOS version); an OS it does not name is not limited.
	MinOS map[string]string `json:"min_os,omitempty"`
}

// IsZero reports whether p asks nothing.
func (p DevicePolicy) IsZero() bool {
	return p.RequireKey == "" && !p.RequireDiskEncryption && len(p.MinOS) == 0
}

// PasswordPolicy says what a password alone may do.
type PasswordPolicy string

// Password policies.
const (
	// PasswordOn: a password alone signs in (with an authenticator code
	// after it when the person set one up).
	PasswordOn PasswordPolicy = "on"
	// PasswordSecondFactor: a password signs in only with a passkey or an
	// authenticator code after it.
	PasswordSecondFactor PasswordPolicy = "second-factor"
	// PasswordOff: no password form; desktops, phones, passkeys and
	// directory or provider sign-in remain.
	PasswordOff PasswordPolicy = "off"
)

// Valid reports whether p is a policy ("" is not).
func (p PasswordPolicy) Valid() bool {
	return p == PasswordOn || p == PasswordSecondFactor || p == PasswordOff
}

// JSON is f as the stores keep it.
func (f Fence) JSON() string {
	b, _ := json.Marshal(f)
	return string(b)
}

// IsZero reports whether f limits nothing.
func (f Fence) IsZero() bool {
	return len(f.CIDRs) == 0 && len(f.Countries) == 0 && len(f.Groups) == 0 && f.PasswordSignin == "" && f.Device.IsZero()
}

// SecretMatches reports whether hash is the app's secret, or the one a
// rotation replaced while its grace period lasts at now.
func (a App) SecretMatches(hash []byte, now time.Time, equal func(a, b []byte) bool) bool {
	if equal(hash, a.SecretHash) {
		return true
	}
	return len(a.OldSecretHash) > 0 && now.Before(a.OldSecretUntil) && equal(hash, a.OldSecretHash)
}

// Active reports whether the app may be signed in to.
func (a App) Active() bool { return a.DisabledAt.IsZero() }

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
	// LastAddr is the client address of its enrolment or, since, its
	// last sign-in ("" when the event had none).
	LastAddr string
	// KeyThumbprint is the RFC 7638 thumbprint of the key the desktop
	// proves with every call (DPoP's jkt), "" while its credential is a
	// bearer one; KeyProtection says where that key lives ("software",
	// "tpm", "platform").
	KeyThumbprint string
	KeyProtection string
	// Posture is the desktop's latest posture report as it signed it
	// (JSON of posture.Report), "" before its first.
	Posture string
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
	// ACR is the id_token's acr when the request asked for acr_values
	// (signin's ACR* constants), "" when it did not.
	ACR string

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

// Access is a token with the user and the app it was issued for.
type Access struct {
	Token Token
	User  User
	App   App
}

// Session is a signed-in web session of the hosted pages. CreatedAt is
// when the person signed in; LastSeenAt when the session was last used
// (zero: never since), for the idle timeout.
type Session struct {
	Hash       []byte
	UserID     string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
	// Method is how the person signed in (the sign-in core's name of it:
	// "password", "password_totp", "passkey", "scanfree", "qr" …); ""
	// for a session from before it was kept, taken as "password".
	Method string
}

// Family is one sign-in to an app: the code it began with (ID, the code's
// hash) and every token issued on it since; revoking it revokes them all.
type Family struct {
	ID        []byte
	AppID     string
	UserID    string
	DeviceID  string // the desktop that confirmed it; "" for QR, password, passkey
	CreatedAt time.Time
	RevokedAt time.Time // zero while it stands
}

// Grant records that a user authorized an app.
type Grant struct {
	UserID  string
	AppID   string
	Scope   string
	FirstAt time.Time
	LastAt  time.Time
}

// Event is one audit log entry. Sign-ins and refused sign-ins also say
// how (Method, Face), from where (Addr, Country) and with what outcome
// (Result, Reason); other events leave those empty.
type Event struct {
	ID        int64
	UserID    string
	Kind      string // e.g. "signin", "signin_refused", "login", "device_enrolled", "device_revoked"
	AppID     string
	DeviceID  string
	Detail    string
	CreatedAt time.Time

	Method  string // MethodScanFree, MethodQR, …
	Face    string // wechat, oidc, jscode
	Addr    string // the client's address
	Country string // ISO 3166 code of Addr, when known
	Result  string // ResultOK or ResultRefused
	// Reason says why a sign-in was refused: wrong_password, denied,
	// timed_out, refused_redirect, fence, cap, disabled, …
	Reason string
}

// Storage is the backend's persistence. Implementations are safe for
// concurrent use.
type Storage interface {
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByUsername(ctx context.Context, username string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// SetProfile sets userID's nickname and picture; ErrNotFound for an
	// unknown user.
	SetProfile(ctx context.Context, userID, nickname, avatarURL string) error
	// SetRole gives userID role ("" takes any away); ErrNotFound for an
	// unknown user.
	SetRole(ctx context.Context, userID, role string) error
	// DisableUser offboards userID in one transaction: the account is
	// marked disabled, and every desktop revoked, every token family
	// revoked, every web session ended and every code not yet redeemed
	// deleted. Disabling twice keeps the first time; ErrNotFound for an
	// unknown user.
	DisableUser(ctx context.Context, userID string, now time.Time) error
	// EnableUser lets userID sign in again (what was revoked stays so).
	EnableUser(ctx context.Context, userID string) error
	// SignOutUser signs userID out everywhere, as DisableUser does without
	// disabling the account: every desktop and token family revoked, every
	// web session ended, every code not yet redeemed deleted, in one
	// transaction. ErrNotFound for an unknown user.
	SignOutUser(ctx context.Context, userID string, now time.Time) error
	// SetPassword stores userID's new password hash and, in the same
	// transaction, signs her out everywhere as SignOutUser does: a reset
	// is what follows a suspected compromise, so nothing the old password
	// opened stays open. ErrNotFound for an unknown user.
	SetPassword(ctx context.Context, userID, passwordHash string, now time.Time) error
	// CreatePasswordReset stores a one-time reset link's token hash for
	// userID, usable until expires.
	CreatePasswordReset(ctx context.Context, hash []byte, userID string, now, expires time.Time) error
	// UsePasswordReset consumes the reset token hash and, in the same
	// transaction, sets its person's password as SetPassword does (every
	// sign-in ends). It returns the person's id; ErrNotFound when the
	// token is unknown, used or expired at now. Of concurrent uses one wins.
	UsePasswordReset(ctx context.Context, hash []byte, passwordHash string, now time.Time) (string, error)
	// DeleteUser deletes userID's account and, in the same transaction,
	// everything of hers (the rows UserRows names): token families and
	// tokens, codes, web sessions, grants, desktop-app consents, device
	// authorizations, QR tickets, desktops and directory links. Her audit events stay,
	// with her id. ErrNotFound for an unknown user, and nothing deleted.
	DeleteUser(ctx context.Context, userID string) error

	CreateApp(ctx context.Context, a App) error
	// UpdateApp stores a's mutable fields (name, icon, owner, secrets,
	// redirect URIs, domains, fast login, public, id_token algorithm,
	// disabled); ErrNotFound for an unknown appid.
	UpdateApp(ctx context.Context, a App) error
	GetApp(ctx context.Context, appID string) (App, error)
	// DeleteApp deletes appID and, in the same transaction, what was
	// issued for it (the rows AppRows names): token families and tokens,
	// codes, grants, consents, QR tickets and OpenID Connect authorization
	// requests. Its audit events stay. ErrNotFound for an unknown app,
	// and nothing deleted.
	DeleteApp(ctx context.Context, appID string) error
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
	// BindDeviceKey binds device id's credential to the key of thumbprint
	// jkt, once: ErrAlreadyExists when it is bound already (to any key),
	// ErrNotFound when there is no such device.
	BindDeviceKey(ctx context.Context, id, jkt, protection string) error
	// SetDeviceKeyProtection records where device id's key of thumbprint
	// jkt lives, once the desktop showed it. ErrNotFound when there is no
	// such device bound to that key.
	SetDeviceKeyProtection(ctx context.Context, id, jkt, protection string) error
	// SetDevicePosture keeps device id's latest posture report.
	// ErrNotFound when there is no such device.
	SetDevicePosture(ctx context.Context, id, posture string) error
	// RenameDevice names userID's device id name. ErrNotFound when it is
	// not hers.
	RenameDevice(ctx context.Context, userID, id, name string) error

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
	// With maxActive > 0 it returns ErrTooManyDevices, and the
	// authorization stays approved, when d's person has maxActive active
	// devices already: counted in the same transaction, so two enrolments
	// at once cannot both take the last place.
	CompleteDeviceAuth(ctx context.Context, deviceCodeHash []byte, d Device, maxActive int) error

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
	// GetAccess reads token hash with its user and its app in one read,
	// what every userinfo call needs; ErrNotFound when any is missing.
	GetAccess(ctx context.Context, hash []byte) (Access, error)
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
	// TouchSession records that the session was used at at; ErrNotFound
	// when it ended.
	TouchSession(ctx context.Context, hash []byte, at time.Time) error
	// ListSessions returns userID's web sessions, newest first, expired
	// ones included until they are purged.
	ListSessions(ctx context.Context, userID string) ([]Session, error)
	// ListFamilies returns userID's sign-ins to apps (token families),
	// newest first, revoked ones included until they are purged.
	ListFamilies(ctx context.Context, userID string) ([]Family, error)

	ListGrants(ctx context.Context, userID string) ([]Grant, error)
	// RevokeGrant takes back what userID gave appID, in one transaction:
	// the grant goes, the app's codes for the user not yet redeemed are
	// deleted, its families for the user revoked, and the person's
	// desktop-app consent to it (with its session key) withdrawn. Revoking an app the
	// user never signed in to is not an error.
	RevokeGrant(ctx context.Context, userID, appID string, now time.Time) error

	AddEvent(ctx context.Context, e Event) error
	// ListEvents returns the newest events of userID first; userID ""
	// means everyone's, kind "" all kinds.
	ListEvents(ctx context.Context, userID, kind string, limit int) ([]Event, error)
	// QueryEvents returns the events q selects, newest first.
	QueryEvents(ctx context.Context, q EventQuery) ([]Event, error)

	// Secret returns the server secret called name, storing fresh on first use.
	// Every caller gets the value that was stored first. With fresh nil it
	// only reads: ErrNotFound when none is stored.
	Secret(ctx context.Context, name string, fresh []byte) ([]byte, error)
	// DeleteSecret deletes the secret name; a missing one is not an error.
	DeleteSecret(ctx context.Context, name string) error

	Tickets
	Attempts
	Webhooks
	Identities
	Factors
	Passkeys

	// Purge deletes what is past keeping (see PurgeBefore) and returns
	// how many rows went.
	Purge(ctx context.Context, before PurgeBefore) (int64, error)
	// Ping reports an error unless the database answers.
	Ping(ctx context.Context) error

	Close() error
}
