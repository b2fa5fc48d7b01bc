package storage

import (
	"context"
	"time"
)

// Delivery is one webhook message waiting to be delivered.
type Delivery struct {
	ID       int64
	UserID   string // messages of one person are delivered in order
	Body     []byte
	Attempts int
	NextAt   time.Time
}

// Webhooks is the outbox of the alert webhook: messages are stored with
// the event that made them, then delivered at least once, in order per
// person, by whichever replica claims them.
type Webhooks interface {
	// AddAlert stores alert event e and, when body is not nil, the
	// webhook message that tells of it (for e.UserID, due at e.CreatedAt)
	// in one transaction: the log never holds an alert the webhook will
	// not send, nor the outbox a message the log does not hold.
	AddAlert(ctx context.Context, e Event, body []byte) error
	// DueWebhooks returns up to limit messages due at now, each the oldest
	// waiting message of its person (a later one waits for it), oldest
	// first, leaving out those another replica has claimed.
	DueWebhooks(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// ClaimWebhook claims message id until until, and reports whether this
	// caller got it (no one else holds an unexpired claim).
	ClaimWebhook(ctx context.Context, id int64, now, until time.Time) (bool, error)
	// DeliveredWebhook deletes a delivered message.
	DeliveredWebhook(ctx context.Context, id int64) error
	// RetryWebhook releases a failed message, due again at next, with its
	// attempts counted.
	RetryWebhook(ctx context.Context, id int64, next time.Time) error
}
