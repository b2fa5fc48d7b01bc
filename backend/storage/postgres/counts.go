package postgres

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/scanfree/scanfree/backend/storage"
)

// counter is the pool's query tracer: it counts the statements the store
// sends and its write transactions (storage.Counted). pgx's statement
// cache (QueryExecModeCacheStatement, set in Open) makes every statement
// after a connection's first of its text one round trip that parses
// nothing.
type counter struct {
	statements, writes atomic.Int64
}

var _ pgx.QueryTracer = (*counter)(nil)

// TraceQueryStart implements pgx.QueryTracer.
func (c *counter) TraceQueryStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	verb, _, _ := strings.Cut(strings.TrimSpace(d.SQL), " ")
	verb = strings.ToLower(verb)
	switch verb {
	case "begin":
		c.writes.Add(1)
	case "commit", "rollback", "savepoint", "release":
	case "insert", "update", "delete", "with":
		c.statements.Add(1)
		if conn.PgConn().TxStatus() == 'I' && (verb != "with" || modifies(d.SQL)) { // a write on its own
			c.writes.Add(1)
		}
	default:
		c.statements.Add(1)
	}
	return ctx
}

// modifies reports whether a WITH statement changes rows.
func modifies(q string) bool {
	q = strings.ToUpper(q)
	return strings.Contains(q, "INSERT ") || strings.Contains(q, "UPDATE ") || strings.Contains(q, "DELETE ")
}

// TraceQueryEnd implements pgx.QueryTracer.
func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Counts implements storage.Counted. Every transaction counts as a write:
// the store opens one only to change something.
func (s *Store) Counts() storage.Counts {
	return storage.Counts{Statements: s.counts.statements.Load(), Writes: s.counts.writes.Load()}
}
