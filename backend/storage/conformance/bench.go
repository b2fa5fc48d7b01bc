package conformance

import (
	"context"
	"crypto/sha256"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// Unlocked is how a store rotated a refresh token and redeemed a code
// before token families (no family row, no family lock): the baseline
// BenchFamilies measures the lock against, in the same run.
type Unlocked struct {
	Rotate func(ctx context.Context, hash []byte, now time.Time, issued []storage.Token) error
	Redeem func(ctx context.Context, hash []byte, now time.Time, issued []storage.Token) error
}

// BenchFamilies measures code exchange and refresh rotation with token
// families (RedeemCode begins one, RotateToken takes its lock) against
// old, at 1 and 16 concurrent clients. s must hold user "u" and app "a".
func BenchFamilies(b *testing.B, s storage.Storage, old Unlocked) {
	ctx := context.Background()
	var n atomic.Int64
	hash := func() []byte {
		h := sha256.Sum256([]byte(strconv.FormatInt(n.Add(1), 10)))
		return h[:]
	}
	code := func() storage.Code {
		now := time.Now()
		c := storage.Code{Hash: hash(), AppID: "a", UserID: "u", Scope: "s", CreatedAt: now, ExpiresAt: now.Add(time.Hour), Face: storage.FaceOIDC}
		if err := putCode(ctx, s, c); err != nil {
			b.Fatal(err)
		}
		return c
	}
	pair := func(c storage.Code) []storage.Token {
		now := time.Now()
		return []storage.Token{
			{Hash: hash(), Kind: storage.AccessToken, AppID: "a", UserID: "u", CodeHash: c.Hash, Scope: "s", CreatedAt: now, ExpiresAt: now.Add(time.Hour), Face: storage.FaceOIDC},
			{Hash: hash(), Kind: storage.RefreshToken, AppID: "a", UserID: "u", CodeHash: c.Hash, Scope: "s", CreatedAt: now, ExpiresAt: now.Add(time.Hour), Face: storage.FaceOIDC},
		}
	}
	type op func(c storage.Code, issued []storage.Token) error
	for _, clients := range []int{1, 16} {
		for _, tc := range []struct {
			name string
			run  func(pb *testing.PB, redeem, rotate op)
		}{
			{"exchange", func(pb *testing.PB, redeem, _ op) {
				for pb.Next() {
					c := code()
					if err := redeem(c, pair(c)); err != nil {
						b.Fatal(err)
					}
				}
			}},
			{"refresh", func(pb *testing.PB, redeem, rotate op) {
				c := code()
				live := pair(c)
				if err := redeem(c, live); err != nil {
					b.Fatal(err)
				}
				for pb.Next() {
					next := pair(c)
					if err := rotate(storage.Code{Hash: live[1].Hash}, next); err != nil {
						b.Fatal(err)
					}
					live = next
				}
			}},
		} {
			for _, impl := range []struct {
				name           string
				redeem, rotate op
			}{
				{"families", func(c storage.Code, t []storage.Token) error { return s.RedeemCode(ctx, c.Hash, time.Now(), t) },
					func(c storage.Code, t []storage.Token) error { return s.RotateToken(ctx, c.Hash, time.Now(), t) }},
				{"unlocked", func(c storage.Code, t []storage.Token) error { return old.Redeem(ctx, c.Hash, time.Now(), t) },
					func(c storage.Code, t []storage.Token) error { return old.Rotate(ctx, c.Hash, time.Now(), t) }},
			} {
				b.Run(tc.name+"/"+impl.name+"/clients="+strconv.Itoa(clients), func(b *testing.B) {
					b.SetParallelism(clients)
					b.RunParallel(func(pb *testing.PB) { tc.run(pb, impl.redeem, impl.rotate) })
				})
			}
		}
	}
}
