package server

import (
	"context"
	"log/slog"
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

// Release gives back a try Take reserved, when it turned out a success.
func (l *limiter) Release(ctx context.Context, key string) {
	if err := l.store.ReleaseAttempt(ctx, l.key(key), l.now()); err != nil {
		l.log.ErrorContext(ctx, "rate limit: release failed", "limit", l.name, "err", err)
	}
}

// reserve takes one try of key a of la and of key b of lb before the
// expensive check they guard, so that a burst cannot have more checks
// evaluated than the budgets allow: check-then-count would let every
// request of the burst pass the check before the first one counted. When
// either budget is spent, or the store cannot tell, nothing stays taken.
func reserve(ctx context.Context, la *limiter, a string, lb *limiter, b string) (bool, error) {
	okA, errA := la.Take(ctx, a)
	if errA != nil || !okA {
		return false, errA
	}
	okB, errB := lb.Take(ctx, b)
	if errB != nil || !okB {
		la.Release(ctx, a)
		return false, errB
	}
	return true, nil
}

// Reset forgets key's failures, after a success.
func (l *limiter) Reset(ctx context.Context, key string) {
	if err := l.store.ResetAttempts(ctx, l.key(key)); err != nil {
		l.log.ErrorContext(ctx, "rate limit: reset failed", "limit", l.name, "err", err)
	}
}
