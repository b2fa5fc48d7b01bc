package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

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
	}, `SELECT hash, user_id, created_at, expires_at, last_seen_at, method FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, hash`, userID)
}

// ListFamilies implements storage.Storage.
func (s *Store) ListFamilies(ctx context.Context, userID string) ([]storage.Family, error) {
	return list(ctx, s, "list families", func(row scanner) (storage.Family, error) {
		var f storage.Family
		var created, revoked int64
		err := row.Scan(&f.ID, &f.AppID, &f.UserID, &f.DeviceID, &created, &revoked)
		f.CreatedAt, f.RevokedAt = fromMS(created), fromMS(revoked)
		return f, err
	}, `SELECT id, appid, user_id, device_id, created_at, revoked_at FROM families WHERE user_id = $1 ORDER BY created_at DESC, id`, userID)
}

// ImportEvents implements storage.EventImporter with COPY.
func (s *Store) ImportEvents(ctx context.Context, events []storage.Event) error {
	cols := strings.Split(strings.ReplaceAll(storage.InsertEventCols, " ", ""), ",")
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"events"}, cols, pgx.CopyFromSlice(len(events), func(i int) ([]any, error) {
		return storage.InsertEventValues(events[i]), nil
	}))
	return wrap("import events", err)
}

var _ storage.EventImporter = (*Store)(nil)

// SetProfile implements storage.Storage.
func (s *Store) SetProfile(ctx context.Context, userID, nickname, avatarURL string) error {
	return s.execOne(ctx, "set profile", storage.ErrNotFound, `UPDATE users SET nickname = $1, avatar_url = $2 WHERE id = $3`, nickname, avatarURL, userID)
}
