package conformance

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// testFactors: an authenticator is stored with its recovery codes (the
// secret as given, sealed by the caller; the codes by hash); a time step
// is accepted once, and of ten replicas given one code at once exactly
// one wins; a recovery code is spent once; setting anew replaces both;
// deleting the person takes them.
func testFactors(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	u := seedUser(t, s, "tess")
	if _, err := s.GetTOTP(ctx, u.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("an authenticator before one was set: %v", err)
	}
	must(t, s.SetTOTP(ctx, storage.TOTP{UserID: u.ID, SecretSealed: []byte("sealed-1"), CreatedAt: now}, [][]byte{h("r1"), h("r2")}))
	got, err := s.GetTOTP(ctx, u.ID)
	must(t, err)
	if string(got.SecretSealed) != "sealed-1" || !got.CreatedAt.Equal(now) || got.LastStep != 0 {
		t.Fatalf("authenticator: %+v", got)
	}
	must(t, s.UseTOTPStep(ctx, u.ID, 100))
	for _, step := range []int64{100, 99} {
		if err := s.UseTOTPStep(ctx, u.ID, step); !errors.Is(err, storage.ErrAlreadyUsed) {
			t.Fatalf("step %d after 100: %v", step, err)
		}
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if s.UseTOTPStep(ctx, u.ID, 101) == nil {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("one code accepted %d times at once", wins.Load())
	}
	must(t, s.UseRecoveryCode(ctx, u.ID, h("r1"), now))
	if err := s.UseRecoveryCode(ctx, u.ID, h("r1"), now); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a recovery code spent twice: %v", err)
	}
	other := seedUser(t, s, "uma")
	if err := s.UseRecoveryCode(ctx, other.ID, h("r2"), now); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("another's recovery code: %v", err)
	}
	if n, err := s.RecoveryCodesLeft(ctx, u.ID); err != nil || n != 1 {
		t.Fatalf("codes left: %d %v", n, err)
	}
	must(t, s.SetTOTP(ctx, storage.TOTP{UserID: u.ID, SecretSealed: []byte("sealed-2"), CreatedAt: now.Add(time.Hour)}, [][]byte{h("r3")}))
	if err := s.UseRecoveryCode(ctx, u.ID, h("r2"), now); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("an old recovery code after a new enrolment: %v", err)
	}
	if got, _ := s.GetTOTP(ctx, u.ID); string(got.SecretSealed) != "sealed-2" || got.LastStep != 0 {
		t.Fatalf("after setting anew: %+v", got)
	}
	must(t, s.SetTOTP(ctx, storage.TOTP{UserID: other.ID, SecretSealed: []byte("x"), CreatedAt: now}, [][]byte{h("r4")}))
	must(t, s.DeleteTOTP(ctx, other.ID))
	if _, err := s.GetTOTP(ctx, other.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("after DeleteTOTP: %v", err)
	}
	must(t, s.DeleteUser(ctx, u.ID))
	if _, err := s.GetTOTP(ctx, u.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("after deleting her: %v", err)
	}
	if n, _ := s.RecoveryCodesLeft(ctx, u.ID); n != 0 {
		t.Fatalf("recovery codes after deleting her: %d", n)
	}
}
