package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// testPasskeys: a credential is stored as given and unique across
// people; its counter only goes up (a counter going back, or the same
// count twice, is refused, and of ten replicas given one assertion
// exactly one wins), except for an authenticator that keeps none (0
// after 0); rename and delete touch only the owner's; deleting the
// person takes hers; a challenge is spent once and purged when it
// expires.
func testPasskeys(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	u := seedUser(t, s, "pia")
	other := seedUser(t, s, "quin")
	p := storage.Passkey{ID: []byte("cred-1"), UserID: u.ID, Name: "Laptop", Credential: []byte(`{"k":1}`), SignCount: 5,
		BackupEligible: true, BackupState: false, CreatedAt: now}
	must(t, s.AddPasskey(ctx, p))
	wantErr(t, s.AddPasskey(ctx, storage.Passkey{ID: []byte("cred-1"), UserID: other.ID, Name: "x", Credential: []byte("{}"), CreatedAt: now}), storage.ErrAlreadyExists)
	got, err := s.GetPasskey(ctx, p.ID)
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(p) {
		t.Fatalf("GetPasskey = %+v, want %+v", got, p)
	}
	_, err = s.GetPasskey(ctx, []byte("nope"))
	wantErr(t, err, storage.ErrNotFound)

	for _, c := range []uint32{5, 4, 0} {
		wantErr(t, s.UsePasskey(ctx, p.ID, c, true, now), storage.ErrAlreadyUsed)
	}
	must(t, s.UsePasskey(ctx, p.ID, 6, true, now.Add(time.Minute)))
	got, _ = s.GetPasskey(ctx, p.ID)
	if got.SignCount != 6 || !got.BackupState || !got.LastUsedAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("after a use: %+v", got)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if s.UsePasskey(ctx, p.ID, 7, true, now) == nil {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("one assertion accepted %d times at once", wins.Load())
	}

	// An authenticator without a counter (0 every time) signs in each time.
	zero := storage.Passkey{ID: []byte("cred-0"), UserID: u.ID, Name: "Phone", Credential: []byte("{}"), CreatedAt: now.Add(time.Second)}
	must(t, s.AddPasskey(ctx, zero))
	must(t, s.UsePasskey(ctx, zero.ID, 0, false, now))
	must(t, s.UsePasskey(ctx, zero.ID, 0, false, now))
	if list, err := s.ListPasskeys(ctx, u.ID); err != nil || len(list) != 2 || string(list[0].ID) != "cred-1" || string(list[1].ID) != "cred-0" {
		t.Fatalf("ListPasskeys = %+v, %v", list, err)
	}

	wantErr(t, s.RenamePasskey(ctx, other.ID, p.ID, "Mine now"), storage.ErrNotFound)
	must(t, s.RenamePasskey(ctx, u.ID, p.ID, "Work laptop"))
	if got, _ := s.GetPasskey(ctx, p.ID); got.Name != "Work laptop" {
		t.Fatalf("after rename: %q", got.Name)
	}
	wantErr(t, s.DeletePasskey(ctx, other.ID, zero.ID), storage.ErrNotFound)
	must(t, s.DeletePasskey(ctx, u.ID, zero.ID))
	wantErr(t, s.DeletePasskey(ctx, u.ID, zero.ID), storage.ErrNotFound)
	must(t, s.DeleteUser(ctx, u.ID))
	if _, err := s.GetPasskey(ctx, p.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a passkey after deleting its person: %v", err)
	}

	must(t, s.SpendChallenge(ctx, h("ch-1"), now.Add(time.Minute)))
	wantErr(t, s.SpendChallenge(ctx, h("ch-1"), now.Add(time.Minute)), storage.ErrAlreadyUsed)
	if _, err := s.Purge(ctx, storage.PurgeBefore{Expired: now.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	must(t, s.SpendChallenge(ctx, h("ch-1"), now.Add(3*time.Minute))) // purged: gone from the store
}
