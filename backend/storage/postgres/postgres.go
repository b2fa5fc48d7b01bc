// Package postgres is the PostgreSQL implementation of storage.Storage, on
// pgx and its pool, for running several scanfree-server replicas on one
// database.
//
// Everything replicas must agree on is in the database: the single use of
// a code is one conditional UPDATE, an attempt window one upsert, a ticket
// change one row-locked transaction. Ticket changes are announced with
// NOTIFY in the same transaction, so a replica hears of a change only once
// it is committed; WatchTickets LISTENs on one dedicated connection.
//
// Migrations run under a PostgreSQL advisory lock, so replicas started
// together migrate once; a database written by a newer binary is refused.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scanfree/scanfree/backend/storage"
)

var (
	_ storage.Storage = (*Store)(nil)
	_ storage.Pooled  = (*Store)(nil)
	_ storage.Counted = (*Store)(nil)
)

// Errors of Open.
var (
	// ErrNewerSchema reports a database written by a newer scanfree-server.
	ErrNewerSchema = errors.New("database schema is newer than this binary")
	// ErrForeign reports a database that holds another program's tables.
	ErrForeign = errors.New("not a scanfree database")
)

// feedChannel is the NOTIFY channel of ticket changes; the payload is the uuid.
const feedChannel = "scanfree_tickets"

// migrationLock is the advisory lock key held while migrating ("SCFR").
const migrationLock = 0x53434652

// Options tunes Open. Zero fields take the defaults listed.
type Options struct {
	// MaxConns caps the pool (pgxpool's default: 4, or the CPU count if more).
	MaxConns int32
	// Logger receives the change feed's reconnects (slog.Default()).
	Logger *slog.Logger
}

// Store is a storage.Storage backed by a PostgreSQL database.
type Store struct {
	pool   *pgxpool.Pool
	counts *counter
	where  string // host:port/database, without credentials, for messages
	log    *slog.Logger
}

// IsDSN reports whether db names a PostgreSQL database (a postgres:// or
// postgresql:// URL) rather than an SQLite file.
func IsDSN(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Open connects to the database dsn names and applies pending migrations.
// It fails when the database cannot be reached; the caller retries.
func Open(ctx context.Context, dsn string, opt Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w (want postgres://user@host:5432/dbname)", err)
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	cc := cfg.ConnConfig
	// pgx's default, said here because the store relies on it: each
	// connection prepares a statement the first time it sees its text.
	cc.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement
	s := &Store{where: net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))) + "/" + cc.Database, log: opt.Logger, counts: &counter{}}
	cc.Tracer = s.counts
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open database %s: %w", s.where, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool, waiting for connections in use to be released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Where is the database's host:port/name, without credentials.
func (s *Store) Where() string { return s.where }

// PoolStats implements storage.Pooled.
func (s *Store) PoolStats() storage.PoolStats {
	st := s.pool.Stat()
	return storage.PoolStats{Open: int(st.TotalConns()), InUse: int(st.AcquiredConns()), Idle: int(st.IdleConns()),
		Max: int(st.MaxConns()), Waits: st.EmptyAcquireCount(), WaitTime: st.EmptyAcquireWaitTime()}
}

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int { return len(migrations) }

func (s *Store) migrate(ctx context.Context) error {
	fail := func(step string, err error) error {
		return fmt.Errorf("open database %s: %s: %w", s.where, step, err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fail("connect", unavailable(err))
	}
	defer conn.Release()
	// A session lock: it is released by the unlock, or by the server when
	// this connection dies mid-migration.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fail("lock for migration", unavailable(err))
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)

	var ours, theirs bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('scanfree_schema') IS NOT NULL, to_regclass('users') IS NOT NULL`).Scan(&ours, &theirs); err != nil {
		return fail("read schema", unavailable(err))
	}
	if !ours && theirs {
		return fail("read schema", fmt.Errorf("%w (it holds another program's tables; pass another --db)", ErrForeign))
	}
	version := 0
	if ours {
		if err := conn.QueryRow(ctx, `SELECT version FROM scanfree_schema`).Scan(&version); err != nil {
			return fail("read schema version", unavailable(err))
		}
	}
	if version > len(migrations) {
		return fail("read schema version", fmt.Errorf("%w (schema version %d, this binary knows up to %d; run a newer scanfree-server)",
			ErrNewerSchema, version, len(migrations)))
	}
	for v := version; v < len(migrations); v++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if v == 0 {
				if _, err := tx.Exec(ctx, `CREATE TABLE scanfree_schema (version INTEGER NOT NULL)`); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO scanfree_schema (version) VALUES (0)`); err != nil {
					return err
				}
			}
			for _, stmt := range migrations[v] {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, `UPDATE scanfree_schema SET version = $1`, v+1)
			return err
		})
		if err != nil {
			return fail(fmt.Sprintf("migrate to version %d", v+1), unavailable(err))
		}
		s.log.Info("database migrated", "database", s.where, "version", v+1)
	}
	return nil
}

// Ping implements storage.Storage.
func (s *Store) Ping(ctx context.Context) error {
	return wrap("ping database", s.pool.Ping(ctx))
}

// wrap maps driver errors to storage's sentinels and names the operation.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		err = storage.ErrNotFound
	case errors.As(err, &pe) && pe.Code == "23505": // unique_violation
		err = storage.ErrAlreadyExists
	default:
		err = unavailable(err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// unavailable marks err as storage.ErrUnavailable when it is the database
// being unreachable (no connection, shutting down, starting up), rather
// than it refusing a statement.
func unavailable(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" {
			return fmt.Errorf("%w: %v", storage.ErrUnavailable, err)
		}
		return err
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed") {
		return fmt.Errorf("%w: %v", storage.ErrUnavailable, err)
	}
	return err
}

// tx runs fn in a transaction, committed when fn returns nil.
func (s *Store) tx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	return wrap(op, pgx.BeginFunc(ctx, s.pool, fn))
}

// exec runs one statement.
func (s *Store) exec(ctx context.Context, op, q string, args ...any) error {
	_, err := s.pool.Exec(ctx, q, args...)
	return wrap(op, err)
}

// execOne runs an update that must touch a row, else fails with none.
func (s *Store) execOne(ctx context.Context, op string, none error, q string, args ...any) error {
	return wrap(op, touched(s.pool.Exec(ctx, q, args...))(none))
}

// touched returns a check of an Exec's result: err, or none when the
// statement changed no row.
func touched(tag pgconn.CommandTag, err error) func(none error) error {
	return func(none error) error {
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return none
		}
		return nil
	}
}

type scanner interface{ Scan(...any) error }

// execer is the pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func list[T any](ctx context.Context, s *Store, op string, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, v)
	}
	return out, wrap(op, rows.Err())
}

var (
	ms     = storage.Millis
	fromMS = storage.FromMillis
)

// retryDelay is the backoff of the change feed's reconnects.
func retryDelay(attempt int) time.Duration {
	d := 100 * time.Millisecond << min(attempt, 4) // 100 ms … 1.6 s
	return min(d, time.Second)
}
