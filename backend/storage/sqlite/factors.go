package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// SetTOTP implements storage.Storage.
func (s *Store) SetTOTP(ctx context.Context, t storage.TOTP, recoveryHashes [][]byte) error {
	return s.write(ctx, "set totp", func(tx *wtx) error {
		for _, q := range []string{`DELETE FROM totp WHERE user_id = ?`, `DELETE FROM recovery_codes WHERE user_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, t.UserID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO totp (user_id, secret_sealed, created_at, last_step) VALUES (?, ?, ?, ?)`,
			t.UserID, t.SecretSealed, ms(t.CreatedAt), t.LastStep); err != nil {
			return err
		}
		for _, h := range recoveryHashes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (hash, user_id) VALUES (?, ?)`, h, t.UserID); err != nil {
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
	err := s.r.QueryRowContext(ctx, `SELECT secret_sealed, created_at, last_step FROM totp WHERE user_id = ?`, userID).
		Scan(&t.SecretSealed, &created, &t.LastStep)
	if err != nil {
		return t, fmt.Errorf("get totp: %w", notFound(err))
	}
	t.CreatedAt = fromMS(created)
	return t, nil
}

// UseTOTPStep implements storage.Storage.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	return s.execOne(ctx, "use totp step", storage.ErrAlreadyUsed, `UPDATE totp SET last_step = ? WHERE user_id = ? AND last_step < ?`, step, userID, step)
}

// UseRecoveryCode implements storage.Storage.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) error {
	return s.execOne(ctx, "use recovery code", storage.ErrNotFound, `UPDATE recovery_codes SET used_at = ? WHERE hash = ? AND user_id = ? AND used_at = 0`,
		ms(now), hash, userID)
}

// RecoveryCodesLeft implements storage.Storage.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at = 0`, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("recovery codes left: %w", err)
	}
	return n, nil
}

// DeleteTOTP implements storage.Storage.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	return s.write(ctx, "delete totp", func(tx *wtx) error {
		for _, q := range []string{`DELETE FROM totp WHERE user_id = ?`, `DELETE FROM recovery_codes WHERE user_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, userID); err != nil {
				return err
			}
		}
		return nil
	})
}
