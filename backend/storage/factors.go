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
