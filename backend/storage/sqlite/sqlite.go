// Package sqlite is the SQLite implementation of storage.Storage, built on
// the pure-Go modernc.org/sqlite driver so the backend needs no cgo.
//
// The database runs in WAL mode with synchronous=FULL: a transaction that
// returned is on disk, so neither a killed process nor a power cut loses it.
// All writes go through one connection (SQLite has one writer anyway, and
// queueing in Go is cheaper than spinning on SQLITE_BUSY); reads use a pool.
// The SQL is kept to what PostgreSQL also accepts, apart from placeholders.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/scanfree/scanfree/backend/storage"
)

// applicationID marks a database file as ours ("SCFR").
const applicationID = 0x53434652

var (
	_ storage.Storage = (*Store)(nil)
	_ storage.Pooled  = (*Store)(nil)
	_ storage.Counted = (*Store)(nil)
)

// ErrNewerSchema reports a database written by a newer scanfree-server.
var ErrNewerSchema = errors.New("database schema is newer than this binary")

// ErrForeign reports a database that scanfree-server did not create.
var ErrForeign = errors.New("not a scanfree database")

// Store is a storage.Storage backed by one SQLite file.
type Store struct {
	path   string
	w      *sql.DB // single connection: migrations, then the writer's
	r      *conns  // pool: reads
	writer *writer // every write after Open
	feed   storage.Feed
	counts counts
}

// Open opens (creating if needed) the database at path and applies pending
// schema migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("open database: empty path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open database %s: the path may not contain '?' or '#'", path)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("open database %s: is a directory; pass a file path such as %s/scanfree.db", path, path)
	}
	if err := private(path); err != nil {
		return nil, err
	}
	base := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	// temp_store(MEMORY): the writer's savepoints (one per write of a
	// group commit) journal into memory, not a temporary file's writes.
	w, err := sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	s := &Store{path: path, w: w}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s.r = newConns(r, &s.counts)
	s.writer = newWriter(newConns(w, &s.counts))
	return s, nil
}

// private makes the database file owner-only (0600), creating it so when
// it is new, before SQLite opens it: it holds password hashes, personal
// data and the audit log. SQLite gives its -wal and -shm files the mode
// of the database file; ones left 0644 by an older version are tightened.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open database %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err == nil && fi.Mode().Perm()&0o077 != 0 {
			err = os.Chmod(p, 0o600)
		}
		if err != nil {
			return fmt.Errorf("make database file %s private (mode 0600): %w; fix its owner or mode", p, err)
		}
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.writer.close()
	return errors.Join(s.r.close(), s.writer.c.close())
}

// PoolStats implements storage.Pooled: the read pool's figures (all
// writes share one connection).
func (s *Store) PoolStats() storage.PoolStats {
	st := s.r.db.Stats()
	return storage.PoolStats{Open: st.OpenConnections, InUse: st.InUse, Idle: st.Idle, Max: st.MaxOpenConnections,
		Waits: st.WaitCount, WaitTime: st.WaitDuration}
}

// Counts implements storage.Counted.
func (s *Store) Counts() storage.Counts { return s.counts.get() }

// Path returns the database file path.
func (s *Store) Path() string { return s.path }

// migrate applies pending migrations one step at a time. Each step reads
// the schema version and applies what follows it in one write transaction
// (BEGIN IMMEDIATE, the writer's connection): a server and admin commands
// opening a new file at the same moment queue on SQLite's write lock, and
// each finds the version the one before it left.
//
// SQLite answers SQLITE_BUSY at once, without waiting out busy_timeout,
// where waiting could deadlock: switching a new file to WAL while another
// process opens it is one such place. Opening retries those for up to
// busyRetry.
func (s *Store) migrate(ctx context.Context) error {
	deadline := time.Now().Add(busyRetry)
	wait := 5 * time.Millisecond
	for {
		done, err := s.migrateStep(ctx)
		switch {
		case err == nil && done:
			return nil
		case err == nil:
			continue
		case !isBusy(err) || time.Now().After(deadline):
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// busyRetry bounds how long Open retries a database another process is
// setting up.
const busyRetry = 15 * time.Second

func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// migrateStep applies the migration after the current version and reports
// whether there was none left.
func (s *Store) migrateStep(ctx context.Context) (done bool, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		if isNotADB(err) {
			return false, fmt.Errorf("open database %s: %w (the file is not an SQLite database; move it away or pass another --db)", s.path, ErrForeign)
		}
		return false, fmt.Errorf("open database %s: %w", s.path, err)
	}
	defer func() {
		if err != nil || done {
			tx.Rollback()
		}
	}()
	var appID, version int
	if err := tx.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		if isNotADB(err) {
			return false, fmt.Errorf("open database %s: %w (the file is not an SQLite database; move it away or pass another --db)", s.path, ErrForeign)
		}
		return false, fmt.Errorf("open database %s: %w", s.path, err)
	}
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return false, fmt.Errorf("open database %s: %w", s.path, err)
	}
	if appID != applicationID {
		var tables int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&tables); err != nil {
			return false, fmt.Errorf("open database %s: %w", s.path, err)
		}
		if appID != 0 || tables > 0 {
			return false, fmt.Errorf("open database %s: %w (it holds another program's tables; pass another --db)", s.path, ErrForeign)
		}
	}
	if version > len(migrations) {
		return false, fmt.Errorf("open database %s: %w (schema version %d, this binary knows up to %d; run a newer scanfree-server)",
			s.path, ErrNewerSchema, version, len(migrations))
	}
	if version == len(migrations) {
		return true, nil
	}
	for _, stmt := range migrations[version] {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("migrate database %s to version %d: %w", s.path, version+1, err)
		}
	}
	// PRAGMAs take no placeholders; both values are our own integers.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version+1)); err != nil {
		return false, fmt.Errorf("migrate database %s to version %d: %w", s.path, version+1, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
		return false, fmt.Errorf("migrate database %s to version %d: %w", s.path, version+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate database %s to version %d: %w", s.path, version+1, err)
	}
	return false, nil
}

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int { return len(migrations) }

func isNotADB(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_NOTADB || se.Code() == sqlite3.SQLITE_CORRUPT)
}

func isUnique(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// ms and fromMS convert times as every store does.
var (
	ms     = storage.Millis
	fromMS = storage.FromMillis
)

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return storage.ErrNotFound
	}
	return err
}
