package server

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// limiter counts tries per key in fixed windows kept in the shared store,
// so that every replica spends one budget: after max tries a key is
// refused until the window that began with its first try ends. It guards
// password and user_code guessing, where the budget must not refill while
// an attacker keeps trying, and caps QR tickets per client address.
//
// It fails closed: when the store cannot answer, the try is refused.
type limiter struct {
	store  storage.Attempts
	name   string // keeps one limiter's keys apart from another's
	max    int
	window time.Duration
	now    func() time.Time
	log    *slog.Logger
}

func (s *Server) newLimiter(name string, max int, window time.Duration) *limiter {
	return &limiter{store: s.store, name: name, max: max, window: window, now: s.cfg.Now, log: s.log}
}

func (l *limiter) key(k string) string { return l.name + ":" + k }

// Allowed reports whether key may try again; an error means the store
// cannot tell, and the caller refuses.
func (l *limiter) Allowed(ctx context.Context, key string) (bool, error) {
	n, err := l.store.CountAttempts(ctx, l.key(key), l.window, l.now())
	if err != nil {
		l.log.ErrorContext(ctx, "rate limit unavailable: refusing", "limit", l.name, "err", err)
		return false, err
	}
	return n < l.max, nil
}

// Fail records a failed try of key.
func (l *limiter) Fail(ctx context.Context, key string) {
	if _, err := l.store.AddAttempt(ctx, l.key(key), math.MaxInt32, l.window, l.now()); err != nil {
		l.log.ErrorContext(ctx, "rate limit: failure not counted", "limit", l.name, "err", err)
	}
}

// Take counts one try of key and reports whether it was within the
// budget; check and count are one step, so concurrent callers on any
// replica cannot overshoot.
func (l *limiter) Take(ctx context.Context, key string) (bool, error) {
	ok, err := l.store.AddAttempt(ctx, l.key(key), l.max, l.window, l.now())
	if err != nil {
		l.log.ErrorContext(ctx, "rate limit unavailable: refusing", "limit", l.name, "err", err)
	}
	return ok, err
}

// allowed reports whether key a of la and key b of lb may both try again;
// an error means the store could not tell.
func allowed(ctx context.Context, la *limiter, a string, lb *limiter, b string) (bool, error) {
	okA, errA := la.Allowed(ctx, a)
	okB, errB := lb.Allowed(ctx, b)
	return okA && okB, errors.Join(errA, errB)
}

// Reset forgets key's failures, after a success.
func (l *limiter) Reset(ctx context.Context, key string) {
	if err := l.store.ResetAttempts(ctx, l.key(key)); err != nil {
		l.log.ErrorContext(ctx, "rate limit: reset failed", "limit", l.name, "err", err)
	}
}
