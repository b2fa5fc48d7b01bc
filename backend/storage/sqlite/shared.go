package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// One SQLite file serves one process, so the ticket change feed is that
// process's own: UpdateTicket tells the watchers after its commit.

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
	return s.exec(ctx, "create QR ticket", `INSERT INTO qr_tickets (`+ticketCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.UUID, t.AppID, t.RedirectURI, t.Scope, t.State, int(t.Status), t.UserID, t.Nickname, t.HeadImgURL, t.SealedCode,
		ms(t.CreatedAt), ms(t.ExpiresAt), t.Computer)
}

// GetTicket implements storage.Storage.
func (s *Store) GetTicket(ctx context.Context, uuid string) (storage.Ticket, error) {
	t, err := scanTicket(s.r.QueryRowContext(ctx, `SELECT `+ticketCols+` FROM qr_tickets WHERE uuid = ?`, uuid))
	if err != nil {
		return t, fmt.Errorf("get QR ticket: %w", notFound(err))
	}
	return t, nil
}

// UpdateTicket implements storage.Storage.
func (s *Store) UpdateTicket(ctx context.Context, uuid string, fn func(t *storage.Ticket) error) (storage.Ticket, error) {
	var out storage.Ticket
	err := s.write(ctx, "update QR ticket", func(tx *wtx) error {
		t, err := scanTicket(tx.QueryRowContext(ctx, `SELECT `+ticketCols+` FROM qr_tickets WHERE uuid = ?`, uuid))
		if err != nil {
			return notFound(err)
		}
		if err := fn(&t); err != nil {
			return err
		}
		t.UUID = uuid
		_, err = tx.ExecContext(ctx, `UPDATE qr_tickets SET status = ?, user_id = ?, nickname = ?, head_img_url = ?, sealed_code = ?
			WHERE uuid = ?`, int(t.Status), t.UserID, t.Nickname, t.HeadImgURL, t.SealedCode, uuid)
		out = t
		return err
	})
	if err != nil {
		return out, err
	}
	s.feed.Publish(uuid)
	return out, nil
}

// WatchTickets implements storage.Storage.
func (s *Store) WatchTickets(ctx context.Context, changed func(uuid string)) error {
	return s.feed.Watch(ctx, changed)
}

// CountTickets implements storage.Storage.
func (s *Store) CountTickets(ctx context.Context, now time.Time) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM qr_tickets WHERE expires_at > ?`, ms(now)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count QR tickets: %w", err)
	}
	return n, nil
}

// CountAttempts implements storage.Storage.
func (s *Store) CountAttempts(ctx context.Context, key string, window time.Duration, now time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT n FROM attempts WHERE name = ? AND expires_at > ?`, key, ms(now)).Scan(&n)
	if err != nil && err != sql.ErrNoRows {
		return 0, fmt.Errorf("count attempts: %w", err)
	}
	return n, nil
}

// AddAttempt implements storage.Storage. One upsert: a window that ended
// starts over, a full one is left alone (and no row reports "changed").
func (s *Store) AddAttempt(ctx context.Context, key string, max int, window time.Duration, now time.Time) (bool, error) {
	var counted bool
	err := s.write(ctx, "count attempt", func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO attempts (name, n, expires_at) VALUES (?1, 1, ?3)
			ON CONFLICT (name) DO UPDATE SET
				n = CASE WHEN attempts.expires_at <= ?2 THEN 1 ELSE attempts.n + 1 END,
				expires_at = CASE WHEN attempts.expires_at <= ?2 THEN ?3 ELSE attempts.expires_at END
			WHERE attempts.expires_at <= ?2 OR attempts.n < ?4`, key, ms(now), ms(now.Add(window)), max)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		counted = n > 0
		return err
	})
	return counted, err
}

// ReleaseAttempt implements storage.Storage.
func (s *Store) ReleaseAttempt(ctx context.Context, key string, now time.Time) error {
	return s.exec(ctx, "release attempt", `UPDATE attempts SET n = n - 1 WHERE name = ? AND n > 0 AND expires_at > ?`, key, ms(now))
}

// ResetAttempts implements storage.Storage.
func (s *Store) ResetAttempts(ctx context.Context, key string) error {
	return s.exec(ctx, "reset attempts", `DELETE FROM attempts WHERE name = ?`, key)
}

// PollDeviceAuth implements storage.Storage; the writer runs one
// transaction at a time, so read and update cannot interleave.
func (s *Store) PollDeviceAuth(ctx context.Context, deviceCodeHash []byte, now time.Time, step time.Duration) (bool, time.Duration, error) {
	var slow bool
	var interval time.Duration
	err := s.write(ctx, "record device poll", func(tx *wtx) error {
		var last, iv int64
		err := tx.QueryRowContext(ctx, `SELECT last_poll_at, interval_ms FROM device_auths WHERE device_code_hash = ?`, deviceCodeHash).Scan(&last, &iv)
		if err != nil {
			return notFound(err)
		}
		slow, interval = storage.SlowDown(fromMS(last), time.Duration(iv)*time.Millisecond, now, step)
		_, err = tx.ExecContext(ctx, `UPDATE device_auths SET last_poll_at = ?, interval_ms = ? WHERE device_code_hash = ?`,
			ms(now), interval.Milliseconds(), deviceCodeHash)
		return err
	})
	return slow, interval, err
}

// Purge implements storage.Storage.
func (s *Store) Purge(ctx context.Context, before storage.PurgeBefore) (int64, error) {
	var total int64
	err := s.write(ctx, "purge", func(tx *wtx) error {
		for _, d := range before.Targets() {
			if d.Before.IsZero() {
				continue
			}
			// Table and column names are our constants, never input.
			q := `DELETE FROM ` + d.Table + ` WHERE ` + d.Column + ` < ?`
			if d.Unless != "" {
				q += ` AND NOT EXISTS (` + d.Unless + `)`
			}
			res, err := tx.ExecContext(ctx, q, ms(d.Before))
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			total += n
		}
		return nil
	})
	return total, err
}

// Ping implements storage.Storage.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}
