package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/scanfree/scanfree/backend/storage"
)

// maxBatch bounds how many writes share one commit.
const maxBatch = 256

// errClosed reports a write after Close.
var errClosed = errors.New("database is closed")

// writeReq is one write waiting for the writer.
type writeReq struct {
	fn   func(tx *wtx) error
	done chan error
}

// writer group-commits: it takes every write queued while the previous
// commit ran, runs each under its own savepoint (a failing write rolls back
// alone) and commits them with one fsync. Under load this turns N fsyncs
// into one without weakening synchronous=FULL; alone, a write commits at
// once as before.
type writer struct {
	c     *conns
	queue chan writeReq

	mu     sync.RWMutex
	closed bool
	exited chan struct{}
}

func newWriter(c *conns) *writer {
	w := &writer{c: c, queue: make(chan writeReq), exited: make(chan struct{})}
	go w.loop()
	return w
}

// do runs fn in a write transaction and returns once it is committed (or
// failed). A write already queued completes even if ctx ends meanwhile, so
// an error never hides a committed write.
func (w *writer) do(ctx context.Context, fn func(tx *wtx) error) error {
	req := writeReq{fn: fn, done: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return errClosed
	}
	select {
	case w.queue <- req:
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	return <-req.done
}

func (w *writer) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	<-w.exited
}

func (w *writer) loop() {
	defer close(w.exited)
	for first := range w.queue {
		batch := []writeReq{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-w.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		w.commit(batch)
	}
}

func (w *writer) commit(batch []writeReq) {
	ctx := context.Background()
	// Statements first seen in this batch are prepared once it is done.
	defer w.c.prepareWanted(ctx)
	errs := make([]error, len(batch))
	sqlTx, err := w.c.db.BeginTx(ctx, nil)
	tx := &wtx{Tx: sqlTx, c: w.c}
	if err == nil && len(batch) == 1 {
		errs[0] = batch[0].fn(tx)
		if errs[0] != nil {
			sqlTx.Rollback()
			batch[0].done <- errs[0]
			return
		}
	} else if err == nil {
		for i, r := range batch {
			if err = tx.control(ctx, "SAVEPOINT w"); err != nil {
				break
			}
			if errs[i] = r.fn(tx); errs[i] != nil {
				if err = tx.control(ctx, "ROLLBACK TO w"); err != nil {
					break
				}
			}
			if err = tx.control(ctx, "RELEASE w"); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = sqlTx.Commit()
	} else if sqlTx != nil {
		sqlTx.Rollback()
	}
	for i, r := range batch {
		if err != nil {
			r.done <- fmt.Errorf("commit: %w", err)
		} else {
			r.done <- errs[i]
		}
	}
}

// write runs fn through the group-committing writer, wrapping errors with
// op and mapping uniqueness violations to storage.ErrAlreadyExists.
func (s *Store) write(ctx context.Context, op string, fn func(tx *wtx) error) error {
	s.counts.writes.Add(1)
	if err := s.writer.do(ctx, fn); err != nil {
		if isUnique(err) {
			err = storage.ErrAlreadyExists
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// exec runs one statement as a write.
func (s *Store) exec(ctx context.Context, op, q string, args ...any) error {
	return s.write(ctx, op, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	})
}

// execOne runs an update that must touch a row, else fails with none.
func (s *Store) execOne(ctx context.Context, op string, none error, q string, args ...any) error {
	return s.write(ctx, op, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		return touched(res, err, none)
	})
}

// touched returns err, or none when the statement changed no row.
func touched(res sql.Result, err, none error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return none
	}
	return nil
}
