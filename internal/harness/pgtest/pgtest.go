// Package pgtest gives each test (and each benchmark run) a PostgreSQL
// database of its own on the server SCANFREE_TEST_POSTGRES names, and drops
// it afterwards, so tests never see each other's rows or a previous run's.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the variable holding the DSN of a database on the server
// the tests may create databases on.
const EnvDSN = "SCANFREE_TEST_POSTGRES"

// Example is a DSN that works with a local PostgreSQL under trust auth.
const Example = "postgres://postgres@127.0.0.1:5432/postgres"

// DSN returns the DSN of a new, empty database that is dropped when t
// ends. Without SCANFREE_TEST_POSTGRES it skips t, or fails it under
// SCANFREE_REQUIRE_E2E=1.
func DSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvDSN)
	if base == "" {
		msg := fmt.Sprintf("PostgreSQL tests need a server: set %s=%s (a database the tests may CREATE DATABASE from)", EnvDSN, Example)
		if os.Getenv("SCANFREE_REQUIRE_E2E") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dsn, drop, err := Create(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return dsn
}

// Create creates a database named scanfree_test_<random> on the server of
// base and returns its DSN and a func that drops it, closing whatever
// connections are left.
func Create(ctx context.Context, base string) (dsn string, drop func() error, err error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("%s=%q: want a URL such as %s", EnvDSN, base, Example)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "scanfree_test_" + hex.EncodeToString(b)
	admin := func(q string) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return fmt.Errorf("connect to %s (%s): %w", u.Redacted(), EnvDSN, err)
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, q)
		return err
	}
	// The name is ours: hex digits after a fixed prefix, no quoting needed.
	if err := admin("CREATE DATABASE " + name); err != nil {
		return "", nil, fmt.Errorf("create test database: %w", err)
	}
	u.Path = "/" + name
	return u.String(), func() error { return admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") }, nil
}
