package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// feedCheck is how long the change feed waits for a notification before
// it checks that its connection is still alive.
const feedCheck = 15 * time.Second

// WatchTickets implements storage.Storage. It LISTENs on one connection of
// its own, outside the pool. When that connection is lost (the server
// restarted, the network dropped) it reconnects with a short backoff,
// listens again and calls changed("") so that every waiter reads its
// ticket again: a change made while no one listened is not missed.
func (s *Store) WatchTickets(ctx context.Context, changed func(uuid string)) error {
	cfg := s.pool.Config().ConnConfig.Copy()
	for attempt := 0; ; attempt++ {
		err := s.listen(ctx, cfg, changed)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			s.log.Warn("ticket change feed lost; reconnecting", "database", s.where, "retry_in", retryDelay(attempt), "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retryDelay(attempt)):
		}
	}
}

// listen runs one connection's LISTEN until it fails or ctx ends.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig, changed func(string)) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+feedChannel); err != nil {
		return err
	}
	// Listening from here on: whatever changed before, waiters re-read.
	changed("")
	for {
		wctx, cancel := context.WithTimeout(ctx, feedCheck)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			changed(n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Quiet for a while: make sure the connection still works.
			if err := conn.Ping(ctx); err != nil {
				return err
			}
		default:
			return err
		}
	}
}
