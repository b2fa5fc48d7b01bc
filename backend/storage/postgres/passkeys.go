package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

func scanPasskey(row scanner) (storage.Passkey, error) { return storage.ScanPasskey(row.Scan) }

// AddPasskey implements storage.Storage.
func (s *Store) AddPasskey(ctx context.Context, p storage.Passkey) error {
	return s.exec(ctx, "add passkey", `INSERT INTO passkeys (`+storage.PasskeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, storage.PasskeyValues(p)...)
}

// GetPasskey implements storage.Storage.
func (s *Store) GetPasskey(ctx context.Context, id []byte) (storage.Passkey, error) {
	p, err := scanPasskey(s.pool.QueryRow(ctx, `SELECT `+storage.PasskeyCols+` FROM passkeys WHERE id = $1`, id))
	return p, wrap("get passkey", err)
}

// ListPasskeys implements storage.Storage.
func (s *Store) ListPasskeys(ctx context.Context, userID string) ([]storage.Passkey, error) {
	return list(ctx, s, "list passkeys", scanPasskey, `SELECT `+storage.PasskeyCols+` FROM passkeys WHERE user_id = $1 ORDER BY created_at, id`, userID)
}

// UsePasskey implements storage.Storage.
func (s *Store) UsePasskey(ctx context.Context, id []byte, signCount uint32, backupState bool, at time.Time) error {
	return s.execOne(ctx, "use passkey", storage.ErrAlreadyUsed, `UPDATE passkeys SET sign_count = $1, backup_state = $2, last_used_at = $3
		WHERE id = $4 AND (sign_count < $5 OR (sign_count = 0 AND $6 = 0))`, int64(signCount), backupState, ms(at), id, int64(signCount), int64(signCount))
}

// RenamePasskey implements storage.Storage.
func (s *Store) RenamePasskey(ctx context.Context, userID string, id []byte, name string) error {
	return s.execOne(ctx, "rename passkey", storage.ErrNotFound, `UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3`, name, id, userID)
}

// DeletePasskey implements storage.Storage.
func (s *Store) DeletePasskey(ctx context.Context, userID string, id []byte) error {
	return s.execOne(ctx, "delete passkey", storage.ErrNotFound, `DELETE FROM passkeys WHERE id = $1 AND user_id = $2`, id, userID)
}

// SpendChallenge implements storage.Storage.
func (s *Store) SpendChallenge(ctx context.Context, hash []byte, expires time.Time) error {
	err := s.exec(ctx, "spend challenge", `INSERT INTO spent_challenges (hash, expires_at) VALUES ($1, $2)`, hash, ms(expires))
	if errors.Is(err, storage.ErrAlreadyExists) {
		return fmt.Errorf("spend challenge: %w", storage.ErrAlreadyUsed)
	}
	return err
}
