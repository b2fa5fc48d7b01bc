package conformance

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// testWebhooks: an alert is stored with its message; the outbox hands
// out each person's oldest message only, oldest first; a claim is
// exclusive until it expires; a failed message waits for its retry and
// holds back the person's later ones; the purge drops old undelivered
// ones and leaves their alerts in the log.
func testWebhooks(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	alert := func(user, reason string) storage.Event {
		return storage.Event{UserID: user, Kind: "alert", Reason: reason, CreatedAt: now}
	}
	for _, m := range []struct{ user, body string }{{"u1", "a"}, {"u1", "b"}, {"u2", "c"}} {
		must(t, s.AddAlert(ctx, alert(m.user, m.body), []byte(m.body)))
	}
	must(t, s.AddAlert(ctx, alert("u3", "no webhook"), nil))
	alerts, err := s.QueryEvents(ctx, storage.EventQuery{Kinds: []string{"alert"}, Limit: 10})
	must(t, err)
	if len(alerts) != 4 {
		t.Fatalf("alerts in the log: %d, want 4", len(alerts))
	}
	due := func(at time.Time) string {
		t.Helper()
		ds, err := s.DueWebhooks(ctx, at, 10)
		must(t, err)
		var out []string
		for _, d := range ds {
			out = append(out, string(d.Body))
		}
		return fmt.Sprint(out)
	}
	ds, err := s.DueWebhooks(ctx, now, 10)
	must(t, err)
	if got := due(now); got != "[a c]" {
		t.Fatalf("due: %s", got)
	}
	a, c := ds[0], ds[1]
	if ok, err := s.ClaimWebhook(ctx, a.ID, now, now.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if ok, _ := s.ClaimWebhook(ctx, a.ID, now, now.Add(time.Minute)); ok {
		t.Fatal("a message claimed twice")
	}
	if got := due(now); got != "[c]" {
		t.Fatalf("due while a is claimed: %s", got)
	}
	must(t, s.RetryWebhook(ctx, a.ID, now.Add(time.Hour)))
	if got := due(now.Add(2 * time.Minute)); got != "[c]" {
		t.Fatalf("due while a waits for its retry: %s", got)
	}
	must(t, s.DeliveredWebhook(ctx, c.ID))
	ds, _ = s.DueWebhooks(ctx, now.Add(time.Hour), 10)
	if len(ds) != 1 || string(ds[0].Body) != "a" || ds[0].Attempts != 1 {
		t.Fatalf("due at the retry: %+v", ds)
	}
	must(t, s.DeliveredWebhook(ctx, a.ID))
	if got := due(now.Add(time.Hour)); got != "[b]" {
		t.Fatalf("after a was delivered: %s", got)
	}
	// An expired claim (a replica that died) frees the message.
	ds, _ = s.DueWebhooks(ctx, now.Add(time.Hour), 10)
	s.ClaimWebhook(ctx, ds[0].ID, now.Add(time.Hour), now.Add(time.Hour+time.Minute))
	if got := due(now.Add(2 * time.Hour)); got != "[b]" {
		t.Fatalf("after the claim expired: %s", got)
	}
	// A message never delivered goes with the purge; its alert stays.
	if _, err := s.Purge(ctx, storage.PurgeBefore{Webhooks: now.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if got := due(now.Add(3 * time.Hour)); got != "[]" {
		t.Fatalf("after the purge: %s", got)
	}
	if alerts, _ = s.QueryEvents(ctx, storage.EventQuery{Kinds: []string{"alert"}, Limit: 10}); len(alerts) != 4 {
		t.Fatalf("alerts after the purge: %d, want 4", len(alerts))
	}
}
