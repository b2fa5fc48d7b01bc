package sqlite

import (
	"context"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// AddAlert implements storage.Storage.
func (s *Store) AddAlert(ctx context.Context, e storage.Event, body []byte) error {
	return s.write(ctx, "add alert", func(tx *wtx) error {
		if err := insertEvent(ctx, tx, e); err != nil || body == nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_outbox (user_id, body, created_at, next_at) VALUES (?, ?, ?, ?)`,
			e.UserID, body, ms(e.CreatedAt), ms(e.CreatedAt))
		return err
	})
}

// DueWebhooks implements storage.Storage.
func (s *Store) DueWebhooks(ctx context.Context, now time.Time, limit int) ([]storage.Delivery, error) {
	return list(ctx, s, "due webhooks", scanDelivery, `SELECT o.id, o.user_id, o.body, o.attempts, o.next_at FROM webhook_outbox o
		WHERE o.next_at <= ? AND o.lease_until <= ?
		AND NOT EXISTS (SELECT 1 FROM webhook_outbox e WHERE e.user_id = o.user_id AND e.id < o.id)
		ORDER BY o.id LIMIT ?`, ms(now), ms(now), limit)
}

func scanDelivery(row scanner) (storage.Delivery, error) {
	var d storage.Delivery
	var next int64
	err := row.Scan(&d.ID, &d.UserID, &d.Body, &d.Attempts, &next)
	d.NextAt = fromMS(next)
	return d, err
}

// ClaimWebhook implements storage.Storage.
func (s *Store) ClaimWebhook(ctx context.Context, id int64, now, until time.Time) (bool, error) {
	var got bool
	err := s.write(ctx, "claim webhook", func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_outbox SET lease_until = ? WHERE id = ? AND lease_until <= ?`, ms(until), id, ms(now))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		got = n == 1
		return nil
	})
	return got, err
}

// DeliveredWebhook implements storage.Storage.
func (s *Store) DeliveredWebhook(ctx context.Context, id int64) error {
	return s.exec(ctx, "delivered webhook", `DELETE FROM webhook_outbox WHERE id = ?`, id)
}

// RetryWebhook implements storage.Storage.
func (s *Store) RetryWebhook(ctx context.Context, id int64, next time.Time) error {
	return s.exec(ctx, "retry webhook", `UPDATE webhook_outbox SET attempts = attempts + 1, next_at = ?, lease_until = 0 WHERE id = ?`, ms(next), id)
}
