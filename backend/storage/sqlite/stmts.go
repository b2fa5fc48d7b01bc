package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"

	"github.com/scanfree/scanfree/backend/storage"
)

// maxStmts bounds the prepared statements kept per pool. Every statement
// the store runs is a constant text (or one of a few shapes of the
// sign-in log's filters), far fewer than this; a text past the bound runs
// unprepared rather than growing the cache.
const maxStmts = 512

// conns is a database handle that keeps every statement prepared: the
// driver parses the text of a statement handed to it as text on every
// call (a fifth of a code exchange's CPU once), while a *sql.Stmt keeps
// the parsed statement on each connection it ran on and only resets it.
// It counts the statements it runs for the metrics and for the tests that
// keep each operation's statements few.
type conns struct {
	db    *sql.DB
	stmts sync.Map // SQL text → *sql.Stmt
	size  atomic.Int32
	n     *counts

	// wanted are the texts a write transaction ran unprepared: the
	// writer's one connection is the transaction's while it runs, so
	// they are prepared after its commit (prepareWanted).
	wanted map[string]bool
}

// counts are a store's running totals (see storage.Counted).
type counts struct {
	statements, writes atomic.Int64
}

func (c *counts) get() storage.Counts {
	return storage.Counts{Statements: c.statements.Load(), Writes: c.writes.Load()}
}

func newConns(db *sql.DB, n *counts) *conns { return &conns{db: db, n: n} }

// stmt returns q prepared, or nil when it cannot be cached (the caller
// then runs the text, which reports any error in it).
func (c *conns) stmt(ctx context.Context, q string) *sql.Stmt {
	c.n.statements.Add(1)
	if st, ok := c.stmts.Load(q); ok {
		return st.(*sql.Stmt)
	}
	return c.prepare(ctx, q)
}

// prepare adds q to the cache (nil when the cache is full or q is wrong).
func (c *conns) prepare(ctx context.Context, q string) *sql.Stmt {
	if c.size.Load() >= maxStmts {
		return nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	if prev, loaded := c.stmts.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt)
	}
	c.size.Add(1)
	return st
}

// QueryRowContext is sql.DB's, prepared.
func (c *conns) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, q, args...)
}

// QueryContext is sql.DB's, prepared.
func (c *conns) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, q, args...)
}

// prepareWanted prepares the texts write transactions ran unprepared;
// only the writer calls it, between transactions.
func (c *conns) prepareWanted(ctx context.Context) {
	for q := range c.wanted {
		c.prepare(ctx, q)
		delete(c.wanted, q)
	}
}

// close finalizes the statements, then closes the database handle.
func (c *conns) close() error {
	c.stmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	return c.db.Close()
}

// wtx is a write transaction whose statements are the writer's prepared
// ones: within a transaction a *sql.Stmt of the same database reuses the
// statement already prepared on the transaction's connection.
type wtx struct {
	*sql.Tx
	c *conns
}

// stmt returns q as the transaction's prepared statement, or nil when it
// is not prepared yet (it will be after this transaction) or cannot be.
func (t *wtx) stmt(ctx context.Context, q string) *sql.Stmt {
	t.c.n.statements.Add(1)
	return t.prepared(ctx, q)
}

// prepared is stmt without counting, for the writer's own savepoints.
func (t *wtx) prepared(ctx context.Context, q string) *sql.Stmt {
	st, ok := t.c.stmts.Load(q)
	if !ok {
		if t.c.wanted == nil {
			t.c.wanted = map[string]bool{}
		}
		t.c.wanted[q] = true
		return nil
	}
	return t.StmtContext(ctx, st.(*sql.Stmt))
}

// control runs a savepoint statement of the writer's, prepared and not
// counted: it is the writer's bookkeeping, not the operation's.
func (t *wtx) control(ctx context.Context, q string) error {
	var err error
	if st := t.prepared(ctx, q); st != nil {
		_, err = st.ExecContext(ctx)
	} else {
		_, err = t.Tx.ExecContext(ctx, q)
	}
	return err
}

// ExecContext is sql.Tx's, prepared.
func (t *wtx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, q, args...)
}

// QueryRowContext is sql.Tx's, prepared.
func (t *wtx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}

// QueryContext is sql.Tx's, prepared.
func (t *wtx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, q, args...)
}
