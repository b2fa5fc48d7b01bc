package postgres

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/backend/storage/conformance"
	"github.com/scanfree/scanfree/internal/harness/pgtest"
)

func open(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	conformance.RunTests(t, func(t *testing.T) storage.Storage {
		s, err := Open(context.Background(), pgtest.DSN(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestMigrateOnce starts five stores on one empty database at once, as
// replicas started together would: the advisory lock lets one migrate,
// and the others find the schema done.
func TestMigrateOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Go(func() {
			s, err := Open(context.Background(), dsn, Options{})
			if err == nil {
				s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := open(t, dsn)
	var version, rows int
	if err := s.pool.QueryRow(context.Background(), `SELECT version, (SELECT count(*) FROM scanfree_schema) FROM scanfree_schema`).Scan(&version, &rows); err != nil {
		t.Fatal(err)
	}
	if version != SchemaVersion() || rows != 1 {
		t.Fatalf("schema version %d in %d rows, want %d in 1", version, rows, SchemaVersion())
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		prepare func(t *testing.T, s *Store)
		want    error
		msg     string
	}{
		{"newer schema", func(t *testing.T, s *Store) {
			s.pool.Exec(ctx, `UPDATE scanfree_schema SET version = 999`)
		}, ErrNewerSchema, "run a newer scanfree-server"},
		{"foreign tables", func(t *testing.T, s *Store) {
			s.pool.Exec(ctx, `DROP TABLE scanfree_schema`)
		}, ErrForeign, "another program's tables"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := pgtest.DSN(t)
			s, err := Open(ctx, dsn, Options{})
			if err != nil {
				t.Fatal(err)
			}
			tt.prepare(t, s)
			s.Close()
			_, err = Open(ctx, dsn, Options{})
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Open = %v, want %v saying %q", err, tt.want, tt.msg)
			}
		})
	}
	t.Run("bad DSN", func(t *testing.T) {
		_, err := Open(ctx, "postgres://x:y@127.0.0.1:notaport/db", Options{})
		if err == nil || !strings.Contains(err.Error(), "want postgres://") || strings.Contains(err.Error(), ":y@") {
			t.Fatalf("Open = %v, want a usage hint without the password", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := Open(ctx, "postgres://nobody@127.0.0.1:1/db?connect_timeout=2", Options{})
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("Open = %v, want ErrUnavailable", err)
		}
	})
}

// TestFeedAcrossStores changes a ticket through one store (one replica)
// and hears of it through another's WatchTickets.
func TestFeedAcrossStores(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn), open(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heard := make(chan string, 16)
	go a.WatchTickets(ctx, func(uuid string) { heard <- uuid })
	if u := <-heard; u != "" {
		t.Fatalf("first call %q, want the re-read signal", u)
	}
	now := time.Now()
	if err := b.CreateTicket(ctx, storage.Ticket{UUID: "t1", Status: storage.TicketWaiting, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UpdateTicket(ctx, "t1", func(t *storage.Ticket) error { t.Status = storage.TicketScanned; return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case u := <-heard:
		if u != "t1" {
			t.Fatalf("heard %q, want t1", u)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the other store never heard of the change")
	}
	// A refused change is not announced.
	b.UpdateTicket(ctx, "t1", func(*storage.Ticket) error { return errors.New("no") })
	if _, err := b.UpdateTicket(ctx, "t1", func(t *storage.Ticket) error { t.Nickname = "n"; return nil }); err != nil {
		t.Fatal(err)
	}
	if u := <-heard; u != "t1" {
		t.Fatalf("heard %q, want t1", u)
	}
	select {
	case u := <-heard:
		t.Fatalf("heard %q more than the two committed changes", u)
	default:
	}
}

// TestFeedReconnects kills the feed's connection from the server side, as
// a restart would: it reconnects and tells waiters to read again.
func TestFeedReconnects(t *testing.T) {
	s := open(t, pgtest.DSN(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heard := make(chan string, 16)
	go s.WatchTickets(ctx, func(uuid string) { heard <- uuid })
	<-heard
	tag, err := s.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("terminate the listener: %v (%d rows)", err, tag.RowsAffected())
	}
	select {
	case u := <-heard:
		if u != "" {
			t.Fatalf("heard %q after the reconnect, want the re-read signal", u)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the feed did not reconnect within 5 s")
	}
}

// BenchmarkFamilies: code exchange and refresh with token families (the
// family row and its FOR UPDATE lock) against the statements used before
// them, in the same run.
func BenchmarkFamilies(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.DSN(b), Options{MaxConns: 32})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	s.CreateUser(ctx, storage.User{ID: "u", Username: "u", Nickname: "u", PasswordHash: "x"})
	s.CreateApp(ctx, storage.App{AppID: "a", Name: "a", Owner: "o", SecretHash: []byte("x")})
	conformance.BenchFamilies(b, s, conformance.Unlocked{
		Rotate: func(ctx context.Context, hash []byte, now time.Time, issued []storage.Token) error {
			return s.tx(ctx, "rotate token (before families)", func(tx pgx.Tx) error {
				if err := touched(tx.Exec(ctx, `UPDATE tokens SET revoked_at = $1 WHERE hash = $2 AND revoked_at = 0`, ms(now), hash))(storage.ErrAlreadyUsed); err != nil {
					return err
				}
				return insertTokens(ctx, tx, issued)
			})
		},
		Redeem: func(ctx context.Context, hash []byte, now time.Time, issued []storage.Token) error {
			var t tokenColumns
			for _, tk := range issued {
				t.add(tk)
			}
			return wrap("redeem code (before families)", touched(s.pool.Exec(ctx, `WITH claimed AS (
					UPDATE codes SET used_at = $1 WHERE hash = $2 AND used_at = 0 RETURNING hash
				)
				INSERT INTO tokens (`+issuedCols+`)
				SELECT t.* FROM claimed, unnest($3::bytea[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[]) AS t`,
				ms(now), hash, t.hash, t.kind, t.appid, t.userID, t.codeHash, t.scope, t.createdAt, t.expiresAt, t.revokedAt, t.face))(storage.ErrAlreadyUsed))
		},
	})
}
