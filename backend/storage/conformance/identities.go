package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// testIdentities: a person made with her link is made whole or not at
// all; a subject links once; the link keeps what the directory last said
// of her; deleting her takes her links.
func testIdentities(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	u := storage.User{ID: "usr_dir1", Username: "alice", Nickname: "Alice", CreatedAt: now}
	id := storage.Identity{ConnectorID: "corp", Subject: "uuid-1", UserID: u.ID, Username: "alice", Groups: []string{"staff", "cn=ops,dc=x"},
		CreatedAt: now, CheckedAt: now}
	must(t, s.CreateUserWithIdentity(ctx, u, id))
	got, err := s.GetIdentity(ctx, "corp", "uuid-1")
	must(t, err)
	if got.UserID != u.ID || !slices.Equal(got.Groups, id.Groups) || !got.CheckedAt.Equal(now) || got.Data != nil {
		t.Fatalf("identity: %+v", got)
	}
	// The same subject again, or the username taken: nothing stored.
	other := storage.User{ID: "usr_dir2", Username: "alice2", Nickname: "A", CreatedAt: now}
	if err := s.CreateUserWithIdentity(ctx, other, storage.Identity{ConnectorID: "corp", Subject: "uuid-1", UserID: other.ID}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("a subject linked twice: %v", err)
	}
	if _, err := s.GetUser(ctx, other.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the refused person was stored: %v", err)
	}
	taken := storage.User{ID: "usr_dir3", Username: "alice", Nickname: "A", CreatedAt: now}
	if err := s.CreateUserWithIdentity(ctx, taken, storage.Identity{ConnectorID: "corp", Subject: "uuid-3", UserID: taken.ID}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("a taken username: %v", err)
	}
	if _, err := s.GetIdentity(ctx, "corp", "uuid-3"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the refused link was stored: %v", err)
	}
	// An operator links a local person to another connector's subject.
	bob := seedUser(t, s, "bob-local")
	must(t, s.LinkIdentity(ctx, storage.Identity{ConnectorID: "sso", Subject: "sub-b", UserID: bob.ID, Groups: nil, CreatedAt: now}))
	if err := s.LinkIdentity(ctx, storage.Identity{ConnectorID: "sso", Subject: "sub-b", UserID: u.ID, CreatedAt: now}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("a subject linked to a second person: %v", err)
	}
	if err := s.LinkIdentity(ctx, storage.Identity{ConnectorID: "sso", Subject: "sub-x", UserID: "usr_nobody", CreatedAt: now}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a link to no one: %v", err)
	}
	// What the directory says later is kept.
	later := now.Add(time.Hour)
	id.Username, id.Groups, id.Data, id.CheckedAt = "alice.renamed", nil, []byte{1, 2}, later
	must(t, s.UpdateIdentity(ctx, id))
	got, _ = s.GetIdentity(ctx, "corp", "uuid-1")
	if got.Username != "alice.renamed" || len(got.Groups) != 0 || string(got.Data) != "\x01\x02" || !got.CheckedAt.Equal(later) {
		t.Fatalf("after the update: %+v", got)
	}
	if err := s.UpdateIdentity(ctx, storage.Identity{ConnectorID: "corp", Subject: "gone"}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("updating no link: %v", err)
	}
	list := func(connectorID, userID string) string {
		t.Helper()
		ids, err := s.ListIdentities(ctx, connectorID, userID)
		must(t, err)
		var out []string
		for _, i := range ids {
			out = append(out, i.ConnectorID+"/"+i.Subject)
		}
		return fmt.Sprint(out)
	}
	if got := list("", ""); got != "[corp/uuid-1 sso/sub-b]" {
		t.Fatalf("every link: %s", got)
	}
	if got := list("sso", ""); got != "[sso/sub-b]" {
		t.Fatalf("sso's links: %s", got)
	}
	if got := list("", u.ID); got != "[corp/uuid-1]" {
		t.Fatalf("alice's links: %s", got)
	}
	must(t, s.DeleteUser(ctx, u.ID))
	if got := list("", ""); got != "[sso/sub-b]" {
		t.Fatalf("after alice was deleted: %s", got)
	}
}
