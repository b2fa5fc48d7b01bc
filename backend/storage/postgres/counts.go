package postgres

import (
	"context"
	"strings"
	"sync"
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
	kinds              sync.Map // SQL text → its kind (see kind), at most maxKinds
	nkinds             atomic.Int32
}

// maxKinds bounds the classified texts kept, as pgx bounds its statement
// cache (512): a text past it is classified each time.
const maxKinds = 512

var _ pgx.QueryTracer = (*counter)(nil)

// What a statement is, for counting.
const (
	isStatement = iota // counted, and a write on its own if it changes rows
	isRead             // counted
	isBegin            // a transaction: a write
	isControl          // commit, rollback, savepoints: not counted
)

// TraceQueryStart implements pgx.QueryTracer.
func (c *counter) TraceQueryStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	switch c.kind(d.SQL) {
	case isBegin:
		c.writes.Add(1)
	case isStatement:
		c.statements.Add(1)
		if conn.PgConn().TxStatus() == 'I' { // a write on its own
			c.writes.Add(1)
		}
	case isRead:
		c.statements.Add(1)
	}
	return ctx
}

// kind classifies q once per text (the store's texts are few and
// constant, as pgx's statement cache relies on too).
func (c *counter) kind(q string) int {
	if k, ok := c.kinds.Load(q); ok {
		return k.(int)
	}
	verb, _, _ := strings.Cut(strings.TrimSpace(q), " ")
	k := isRead
	switch strings.ToLower(verb) {
	case "begin":
		k = isBegin
	case "commit", "rollback", "savepoint", "release":
		k = isControl
	case "insert", "update", "delete":
		k = isStatement
	case "with":
		if u := strings.ToUpper(q); strings.Contains(u, "INSERT ") || strings.Contains(u, "UPDATE ") || strings.Contains(u, "DELETE ") {
			k = isStatement
		}
	}
	if c.nkinds.Load() < maxKinds {
		c.kinds.Store(q, k)
		c.nkinds.Add(1)
	}
	return k
}

// TraceQueryEnd implements pgx.QueryTracer.
func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Counts implements storage.Counted. Every transaction counts as a write:
// the store opens one only to change something.
func (s *Store) Counts() storage.Counts {
	return storage.Counts{Statements: s.counts.statements.Load(), Writes: s.counts.writes.Load()}
}
