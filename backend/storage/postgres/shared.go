package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scanfree/scanfree/backend/storage"
)

const ticketCols = `uuid, appid, redirect_uri, scope, state, status, user_id, nickname, head_img_url, sealed_code, created_at, expires_at, computer`

func scanTicket(row scanner) (storage.Ticket, error) {
	var t storage.Ticket
	var status int
	var created, expires int64
	err := row.Scan(&t.UUID, &t.AppID, &t.RedirectURI, &t.Scope, &t.State, &status, &t.UserID, &t.Nickname, &t.HeadImgURL,
		&t.SealedCode, &created, &expires, &t.Computer)
	t.Status = storage.TicketStatus(status)
	t.CreatedAt, t.ExpiresAt = fromMS(created), fromMS(expires)
	return t, err
}

// CreateTicket implements storage.Storage.
func (s *Store) CreateTicket(ctx context.Context, t storage.Ticket) error {
	return s.exec(ctx, "create QR ticket", `INSERT INTO qr_tickets (`+ticketCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		t.UUID, t.AppID, t.RedirectURI, t.Scope, t.State, int(t.Status), t.UserID, t.Nickname, t.HeadImgURL, t.SealedCode,
		ms(t.CreatedAt), ms(t.ExpiresAt), t.Computer)
}

// GetTicket implements storage.Storage.
func (s *Store) GetTicket(ctx context.Context, uuid string) (storage.Ticket, error) {
	t, err := scanTicket(s.pool.QueryRow(ctx, `SELECT `+ticketCols+` FROM qr_tickets WHERE uuid = $1`, uuid))
	return t, wrap("get QR ticket", err)
}

// UpdateTicket implements storage.Storage. The NOTIFY is part of the
// transaction: listeners hear of the change when, and only if, it commits.
func (s *Store) UpdateTicket(ctx context.Context, uuid string, fn func(t *storage.Ticket) error) (storage.Ticket, error) {
	var out storage.Ticket
	err := s.tx(ctx, "update QR ticket", func(tx pgx.Tx) error {
		t, err := scanTicket(tx.QueryRow(ctx, `SELECT `+ticketCols+` FROM qr_tickets WHERE uuid = $1 FOR UPDATE`, uuid))
		if err != nil {
			return err
		}
		if err := fn(&t); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE qr_tickets SET status = $1, user_id = $2, nickname = $3, head_img_url = $4, sealed_code = $5
			WHERE uuid = $6`, int(t.Status), t.UserID, t.Nickname, t.HeadImgURL, t.SealedCode, uuid); err != nil {
			return err
		}
		t.UUID = uuid
		out = t
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, feedChannel, uuid)
		return err
	})
	return out, err
}

// CountTickets implements storage.Storage.
func (s *Store) CountTickets(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM qr_tickets WHERE expires_at > $1`, ms(now)).Scan(&n)
	return n, wrap("count QR tickets", err)
}

// CountAttempts implements storage.Storage.
func (s *Store) CountAttempts(ctx context.Context, key string, window time.Duration, now time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT n FROM attempts WHERE name = $1 AND expires_at > $2`, key, ms(now)).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return n, wrap("count attempts", err)
}

// AddAttempt implements storage.Storage. One upsert: the row lock orders
// concurrent callers, a window that ended starts over, and a full one is
// left alone (no row reported changed).
func (s *Store) AddAttempt(ctx context.Context, key string, max int, window time.Duration, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO attempts (name, n, expires_at) VALUES ($1, 1, $3)
		ON CONFLICT (name) DO UPDATE SET
			n = CASE WHEN attempts.expires_at <= $2 THEN 1 ELSE attempts.n + 1 END,
			expires_at = CASE WHEN attempts.expires_at <= $2 THEN $3 ELSE attempts.expires_at END
		WHERE attempts.expires_at <= $2 OR attempts.n < $4`, key, ms(now), ms(now.Add(window)), max)
	if err != nil {
		return false, wrap("count attempt", err)
	}
	return tag.RowsAffected() > 0, nil
}

// ReleaseAttempt implements storage.Storage.
func (s *Store) ReleaseAttempt(ctx context.Context, key string, now time.Time) error {
	return s.exec(ctx, "release attempt", `UPDATE attempts SET n = n - 1 WHERE name = $1 AND n > 0 AND expires_at > $2`, key, ms(now))
}

// ResetAttempts implements storage.Storage.
func (s *Store) ResetAttempts(ctx context.Context, key string) error {
	return s.exec(ctx, "reset attempts", `DELETE FROM attempts WHERE name = $1`, key)
}

// Purge implements storage.Storage.
func (s *Store) Purge(ctx context.Context, before storage.PurgeBefore) (int64, error) {
	var total int64
	err := s.tx(ctx, "purge", func(tx pgx.Tx) error {
		for _, d := range before.Targets() {
			if d.Before.IsZero() {
				continue
			}
			// Table and column names are our constants, never input.
			q := `DELETE FROM ` + d.Table + ` WHERE ` + d.Column + ` < $1`
			if d.Unless != "" {
				q += ` AND NOT EXISTS (` + d.Unless + `)`
			}
			res, err := tx.Exec(ctx, q, ms(d.Before))
			if err != nil {
				return err
			}
			total += res.RowsAffected()
		}
		return nil
	})
	return total, err
}
