package keys

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage/sqlite"
)

// TestPruneUsesServersLifetime: servers whose id_tokens live 3 h record
// it with the keys; `keys rotate` run with its default 1 h then prunes a
// replaced key only once the servers' tokens signed with it expired.
func TestPruneUsesServersLifetime(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	dataKey := make([]byte, DataKeySize)

	server := New(st, dataKey, 3*time.Hour, clock)
	if err := server.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := server.JWKS(ctx)
	if err != nil || len(first.Keys) != len(Algorithms) {
		t.Fatalf("JWKS after Ensure: %d keys, %v; want one per algorithm", len(first.Keys), err)
	}
	cli := New(st, dataKey, time.Hour, clock) // keys rotate --id-token-ttl 1h (the default)
	if _, err := cli.Rotate(ctx, 0); err != nil {
		t.Fatal(err)
	}
	advance(2 * time.Hour)
	if n, err := cli.Prune(ctx); err != nil || n != 0 {
		t.Fatalf("prune 2 h after the rotation: %d deleted, %v; the servers' 3 h tokens still need them", n, err)
	}
	set, _ := server.JWKS(ctx)
	if len(set.Keys) != 2*len(Algorithms) {
		t.Fatalf("JWKS 2 h after the rotation: %d keys, want the replaced ones too", len(set.Keys))
	}
	advance(61 * time.Minute)
	if n, err := cli.Prune(ctx); err != nil || n != len(Algorithms) {
		t.Fatalf("prune past the servers' lifetime: %d deleted, %v", n, err)
	}
	// A key the CLI made inherits the servers' lifetime.
	ks, _ := st.ListSigningKeys(ctx)
	for _, k := range ks {
		if k.TokenTTL != 3*time.Hour {
			t.Errorf("key %s: TokenTTL %v, want the servers' 3h", k.KID, k.TokenTTL)
		}
	}
}
