package sqlite

import (
	"context"

	"github.com/scanfree/scanfree/backend/storage"
)

// ListSessions implements storage.Storage.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]storage.Session, error) {
	return list(ctx, s, "list sessions", func(row scanner) (storage.Session, error) {
		var se storage.Session
		var created, expires, seen int64
		err := row.Scan(&se.Hash, &se.UserID, &created, &expires, &seen, &se.Method)
		se.CreatedAt, se.ExpiresAt, se.LastSeenAt = fromMS(created), fromMS(expires), fromMS(seen)
		return se, err
	}, `SELECT hash, user_id, created_at, expires_at, last_seen_at, method FROM sessions WHERE user_id = ? ORDER BY created_at DESC, hash`, userID)
}

// ListFamilies implements storage.Storage.
func (s *Store) ListFamilies(ctx context.Context, userID string) ([]storage.Family, error) {
	return list(ctx, s, "list families", func(row scanner) (storage.Family, error) {
		var f storage.Family
		var created, revoked int64
		err := row.Scan(&f.ID, &f.AppID, &f.UserID, &f.DeviceID, &created, &revoked)
		f.CreatedAt, f.RevokedAt = fromMS(created), fromMS(revoked)
		return f, err
	}, `SELECT id, appid, user_id, device_id, created_at, revoked_at FROM families WHERE user_id = ? ORDER BY created_at DESC, id`, userID)
}

// ImportEvents implements storage.EventImporter: one transaction, one
// prepared statement.
func (s *Store) ImportEvents(ctx context.Context, events []storage.Event) error {
	return s.write(ctx, "import events", func(tx *wtx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO events (`+storage.InsertEventCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, e := range events {
			if _, err := st.ExecContext(ctx, storage.InsertEventValues(e)...); err != nil {
				return err
			}
		}
		return nil
	})
}

var _ storage.EventImporter = (*Store)(nil)

// SetProfile implements storage.Storage.
func (s *Store) SetProfile(ctx context.Context, userID, nickname, avatarURL string) error {
	return s.execOne(ctx, "set profile", storage.ErrNotFound, `UPDATE users SET nickname = ?, avatar_url = ? WHERE id = ?`, nickname, avatarURL, userID)
}
