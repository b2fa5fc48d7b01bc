package storage

import (
	"context"
	"time"
)

// TOTP is a person's authenticator app (RFC 6238).
type TOTP struct {
	UserID string
	// SecretSealed is the shared secret, sealed with the data key for the
	// person (never stored in the clear).
	SecretSealed []byte
	CreatedAt    time.Time
	// LastStep is the newest time step a code was accepted for: a code is
	// good once (a replayed one, in the same window, is refused).
	LastStep int64
}

// Factors keeps second factors: authenticator apps and their recovery
// codes.
type Factors interface {
	// SetTOTP stores userID's authenticator (replacing any) and its
	// recovery codes (their hashes; the old ones go) in one transaction.
	SetTOTP(ctx context.Context, t TOTP, recoveryHashes [][]byte) error
	// GetTOTP returns userID's authenticator; ErrNotFound when none.
	GetTOTP(ctx context.Context, userID string) (TOTP, error)
	// UseTOTPStep records that a code of time step was accepted for
	// userID, atomically: ErrAlreadyUsed unless step is newer than every
	// step accepted before (of two replicas given one code, one wins).
	UseTOTPStep(ctx context.Context, userID string, step int64) error
	// UseRecoveryCode spends the recovery code hash of userID;
	// ErrNotFound when it is not hers or was spent.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) error
	// RecoveryCodesLeft counts userID's unspent recovery codes.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)
	// DeleteTOTP removes userID's authenticator and recovery codes.
	DeleteTOTP(ctx context.Context, userID string) error
}

// Passkey is a WebAuthn credential a person registered (a passkey in her
// device's authenticator, unlocked by fingerprint, face or PIN).
type Passkey struct {
	// ID is the credential id the authenticator chose; unique across
	// people.
	ID     []byte
	UserID string
	// Name is what the person calls it ("Work laptop").
	Name string
	// Credential is the WebAuthn credential record (public key,
	// attestation, transports, flags) as the server encodes it; the store
	// keeps it opaque.
	Credential []byte
	// SignCount is the authenticator's signature counter at its last
	// use; BackupEligible and BackupState are its flags (a synced
	// passkey is eligible; backed up when it is).
	SignCount      uint32
	BackupEligible bool
	BackupState    bool
	CreatedAt      time.Time
	LastUsedAt     time.Time
}

// Passkeys keeps people's WebAuthn credentials and the challenges of
// passkey sign-ins already answered.
type Passkeys interface {
	// AddPasskey stores p; a credential id stored before (anyone's) is
	// ErrAlreadyExists.
	AddPasskey(ctx context.Context, p Passkey) error
	// GetPasskey returns the credential id; ErrNotFound when none.
	GetPasskey(ctx context.Context, id []byte) (Passkey, error)
	// ListPasskeys returns userID's passkeys, oldest first.
	ListPasskeys(ctx context.Context, userID string) ([]Passkey, error)
	// UsePasskey records a sign-in with credential id whose authenticator
	// counted signCount, atomically: ErrAlreadyUsed unless signCount is
	// above the stored count, or both are 0 (an authenticator without a
	// counter). A counter going back is a cloned authenticator, or a
	// replay; of two replicas given one assertion, one wins.
	UsePasskey(ctx context.Context, id []byte, signCount uint32, backupState bool, at time.Time) error
	// RenamePasskey renames userID's credential id; ErrNotFound when it
	// is not hers.
	RenamePasskey(ctx context.Context, userID string, id []byte, name string) error
	// DeletePasskey removes userID's credential id; ErrNotFound when it
	// is not hers.
	DeletePasskey(ctx context.Context, userID string, id []byte) error
	// SpendChallenge records that the sign-in challenge hash was
	// answered; ErrAlreadyUsed when it was before. It is kept until
	// expires (then Purge removes it), past which no answer to it is
	// taken anyway.
	SpendChallenge(ctx context.Context, hash []byte, expires time.Time) error
}

// PasskeyCols are the columns of a passkeys row, in the order
// ScanPasskey and PasskeyValues use.
const PasskeyCols = `id, user_id, name, credential, sign_count, backup_eligible, backup_state, created_at, last_used_at`

// ScanPasskey reads a row of PasskeyCols with scan (a row's Scan), for
// every store to read them alike.
func ScanPasskey(scan func(dest ...any) error) (Passkey, error) {
	var p Passkey
	var count, created, used int64
	err := scan(&p.ID, &p.UserID, &p.Name, &p.Credential, &count, &p.BackupEligible, &p.BackupState, &created, &used)
	p.SignCount, p.CreatedAt, p.LastUsedAt = uint32(count), FromMillis(created), FromMillis(used)
	return p, err
}

// PasskeyValues are p's values for PasskeyCols.
func PasskeyValues(p Passkey) []any {
	return []any{p.ID, p.UserID, p.Name, p.Credential, int64(p.SignCount), p.BackupEligible, p.BackupState, Millis(p.CreatedAt), Millis(p.LastUsedAt)}
}
