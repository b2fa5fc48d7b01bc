package sqlite

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/backend/storage/conformance"
)

func TestConformance(t *testing.T) {
	conformance.RunTests(t, func(t *testing.T) storage.Storage {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "scanfree.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		want    error
		msg     string
	}{
		{"not sqlite", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(strings.Repeat("this is not a database\n", 100)), 0o600)
		}, ErrForeign, "not an SQLite database"},
		{"foreign tables", func(t *testing.T, path string) {
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			s.w.Exec("PRAGMA application_id = 42")
			s.Close()
		}, ErrForeign, "another program"},
		{"newer schema", func(t *testing.T, path string) {
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			s.w.Exec("PRAGMA user_version = 999")
			s.Close()
		}, ErrNewerSchema, "run a newer scanfree-server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.db")
			tt.prepare(t, path)
			_, err := Open(ctx, path)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Open = %v; want %v mentioning %q and the path", err, tt.want, tt.msg)
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := Open(ctx, dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
			t.Fatalf("Open(dir) = %v", err)
		}
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, storage.User{ID: "u1", Username: "alice", Nickname: "Alice", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetUser(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkCreateCodeParallel measures group-committed sign-ins at
// GOMAXPROCS×8 concurrent writers against synchronous=FULL.
func BenchmarkCreateCodeParallel(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	var n atomic.Int64
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h := sha256.Sum256([]byte(strconv.FormatInt(n.Add(1), 10)))
			if err := s.CreateSignIn(ctx, storage.Code{Hash: h[:], AppID: "a", UserID: "u", Scope: "s"}, storage.Event{UserID: "u", Kind: "signin"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSignIn compares the scan-free mint path's writes: the three
// commits it used to make (code with grant, device touch, audit event, each
// an fsync under synchronous=FULL) against CreateSignIn's one. Read the
// ratio of the two ns/op figures of the same run, alone and at 16 writers.
func BenchmarkSignIn(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	s.CreateDeviceAuth(ctx, storage.DeviceAuth{DeviceCodeHash: []byte("dc"), UserCode: "BCDFGHJK", ClientID: "c", Status: storage.DeviceAuthPending,
		ExpiresAt: time.Now().Add(time.Hour)})
	s.DecideDeviceAuth(ctx, "BCDFGHJK", "u", true)
	if err := s.CompleteDeviceAuth(ctx, []byte("dc"), storage.Device{ID: "d", UserID: "u", CredentialHash: []byte("cred")}, 0); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	signIn := func() (storage.Code, storage.Event) {
		h := sha256.Sum256([]byte(strconv.FormatInt(n.Add(1), 10)))
		now := time.Now()
		return storage.Code{Hash: h[:], AppID: "a", UserID: "u", DeviceID: "d", Scope: "s", CreatedAt: now, ExpiresAt: now.Add(time.Minute)},
			storage.Event{UserID: "u", Kind: "signin", AppID: "a", DeviceID: "d", Detail: "Signed in to a", CreatedAt: now}
	}
	paths := []struct {
		name string
		mint func(c storage.Code, e storage.Event) error
	}{
		{"three-commits", func(c storage.Code, e storage.Event) error {
			if err := s.write(ctx, "create code", func(tx *wtx) error { return insertCode(ctx, tx, c) }); err != nil {
				return err
			}
			if err := s.execOne(ctx, "touch device", storage.ErrNotFound, `UPDATE devices SET last_seen_at = ? WHERE id = ?`, ms(c.CreatedAt), c.DeviceID); err != nil {
				return err
			}
			return s.AddEvent(ctx, e)
		}},
		{"one-commit", func(c storage.Code, e storage.Event) error { return s.CreateSignIn(ctx, c, e) }},
	}
	for _, clients := range []int{1, 16} {
		for _, p := range paths {
			b.Run(fmt.Sprintf("%s/clients=%d", p.name, clients), func(b *testing.B) {
				b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0))) // RunParallel starts parallelism×GOMAXPROCS writers
				if clients == 1 {
					for b.Loop() {
						if err := p.mint(signIn()); err != nil {
							b.Fatal(err)
						}
					}
					return
				}
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := p.mint(signIn()); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}

// benchStore opens a fresh store with the user "u" and the app "a"; the
// benchmark's cleanup closes it.
func benchStore(b *testing.B) *Store {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	s.CreateUser(ctx, storage.User{ID: "u", Username: "u", Nickname: "u", PasswordHash: "x"})
	s.CreateApp(ctx, storage.App{AppID: "a", Name: "a", Owner: "o", SecretHash: []byte("x")})
	return s
}

// BenchmarkFamilies: code exchange and refresh with token families
// against the statements used before them, in the same run.
func BenchmarkFamilies(b *testing.B) {
	s := benchStore(b)
	conformance.BenchFamilies(b, s, conformance.Unlocked{
		Rotate: func(ctx context.Context, hash []byte, now time.Time, issued []storage.Token) error {
			return s.write(ctx, "rotate token (before families)", func(tx *wtx) error {
				res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at = 0`, ms(now), hash)
				if err := touched(res, err, storage.ErrAlreadyUsed); err != nil {
					return err
				}
				return insertTokens(ctx, tx, issued)
			})
		},
		Redeem: func(ctx context.Context, hash []byte, now time.Time, issued []storage.Token) error {
			return s.write(ctx, "redeem code (before families)", func(tx *wtx) error {
				res, err := tx.ExecContext(ctx, `UPDATE codes SET used_at = ? WHERE hash = ? AND used_at = 0`, ms(now), hash)
				if err := touched(res, err, storage.ErrAlreadyUsed); err != nil {
					return err
				}
				return insertTokens(ctx, tx, issued)
			})
		},
	})
}
