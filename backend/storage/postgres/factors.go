package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scanfree/scanfree/backend/storage"
)

// SetTOTP implements storage.Storage.
func (s *Store) SetTOTP(ctx context.Context, t storage.TOTP, recoveryHashes [][]byte) error {
	return s.tx(ctx, "set totp", func(tx pgx.Tx) error {
		for _, q := range []string{`DELETE FROM totp WHERE user_id = $1`, `DELETE FROM recovery_codes WHERE user_id = $1`} {
			if _, err := tx.Exec(ctx, q, t.UserID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO totp (user_id, secret_sealed, created_at, last_step) VALUES ($1, $2, $3, $4)`,
			t.UserID, t.SecretSealed, ms(t.CreatedAt), t.LastStep); err != nil {
			return err
		}
		for _, h := range recoveryHashes {
			if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (hash, user_id) VALUES ($1, $2)`, h, t.UserID); err != nil {
				return err
			}
		}
		return nil
	})
}

// GetTOTP implements storage.Storage.
func (s *Store) GetTOTP(ctx context.Context, userID string) (storage.TOTP, error) {
	t := storage.TOTP{UserID: userID}
	var created int64
	err := s.pool.QueryRow(ctx, `SELECT secret_sealed, created_at, last_step FROM totp WHERE user_id = $1`, userID).
		Scan(&t.SecretSealed, &created, &t.LastStep)
	t.CreatedAt = fromMS(created)
	return t, wrap("get totp", err)
}

// UseTOTPStep implements storage.Storage.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	return s.execOne(ctx, "use totp step", storage.ErrAlreadyUsed, `UPDATE totp SET last_step = $1 WHERE user_id = $2 AND last_step < $1`, step, userID)
}

// UseRecoveryCode implements storage.Storage.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) error {
	return s.execOne(ctx, "use recovery code", storage.ErrNotFound, `UPDATE recovery_codes SET used_at = $1 WHERE hash = $2 AND user_id = $3 AND used_at = 0`,
		ms(now), hash, userID)
}

// RecoveryCodesLeft implements storage.Storage.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at = 0`, userID).Scan(&n)
	return n, wrap("recovery codes left", err)
}

// DeleteTOTP implements storage.Storage.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	return s.tx(ctx, "delete totp", func(tx pgx.Tx) error {
		for _, q := range []string{`DELETE FROM totp WHERE user_id = $1`, `DELETE FROM recovery_codes WHERE user_id = $1`} {
			if _, err := tx.Exec(ctx, q, userID); err != nil {
				return err
			}
		}
		return nil
	})
}
