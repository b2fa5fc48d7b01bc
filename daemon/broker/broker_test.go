package broker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// scripted is a frontend that answers after a delay, or waits for ctx.
type scripted struct {
	name    string
	delay   time.Duration
	allow   bool
	never   bool
	shown   atomic.Int32
	aborted atomic.Int32
}

func (s *scripted) Name() string { return s.name }

func (s *scripted) Confirm(ctx context.Context, r Request) (bool, error) {
	s.shown.Add(1)
	if s.never {
		<-ctx.Done()
		s.aborted.Add(1)
		return false, ctx.Err()
	}
	select {
	case <-time.After(s.delay):
		return s.allow, nil
	case <-ctx.Done():
		s.aborted.Add(1)
		return false, ctx.Err()
	}
}

func req(origin string) Request { return Request{AppID: "wx1", AppName: "Demo Shop", Origin: origin} }

func TestFirstAnswerWins(t *testing.T) {
	slow := &scripted{name: "slow", delay: time.Hour, allow: true}
	fast := &scripted{name: "fast", delay: 0, allow: false}
	b := New(Config{Timeout: time.Minute}, slow, fast)
	d, err := b.Ask(context.Background(), req("https://idp"))
	if err != nil || d != Deny {
		t.Fatalf("Ask = %v, %v; want deny from the fast frontend", d, err)
	}
	if slow.aborted.Load() != 1 {
		t.Fatal("the other frontend was not withdrawn")
	}
}

func TestAnswerThroughControl(t *testing.T) {
	dialog := &scripted{name: "dialog", never: true}
	b := New(Config{Timeout: time.Minute}, dialog)
	events, stop := b.Subscribe()
	defer stop()
	done := make(chan Decision)
	go func() {
		d, _ := b.Ask(context.Background(), req("https://idp"))
		done <- d
	}()
	e := <-events
	if e.Type != "pending" || len(b.Pending()) != 1 || b.Pending()[0].ID != e.Request.ID {
		t.Fatalf("pending event %+v, Pending %+v", e, b.Pending())
	}
	if err := b.Answer("wrong-id", true, "control"); !errors.Is(err, ErrNoSuchRequest) {
		t.Fatalf("answer to a wrong id: %v", err)
	}
	if err := b.Answer(e.Request.ID, true, "control"); err != nil {
		t.Fatal(err)
	}
	if d := <-done; d != Allow {
		t.Fatalf("decision %v", d)
	}
	if e := <-events; e.Type != "resolved" || e.Decision != Allow || e.By != "control" {
		t.Fatalf("resolved event %+v", e)
	}
	if dialog.aborted.Load() != 1 || len(b.Pending()) != 0 {
		t.Fatal("dialog not withdrawn or request still pending")
	}
	if err := b.Answer(e.Request.ID, false, "control"); !errors.Is(err, ErrNoSuchRequest) {
		t.Fatal("a resolved request took a second answer")
	}
}

func TestTimeoutAndWithdraw(t *testing.T) {
	dialog := &scripted{name: "dialog", never: true}
	b := New(Config{Timeout: 50 * time.Millisecond}, dialog)
	if d, _ := b.Ask(context.Background(), req("https://idp")); d != Timeout {
		t.Fatalf("no answer: %v, want timeout", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b2 := New(Config{Timeout: time.Minute}, dialog)
	go func() {
		testutil.Eventually(t, 10*time.Second, "a pending request", func() bool { return len(b2.Pending()) == 1 })
		cancel()
	}()
	if d, _ := b2.Ask(ctx, req("https://idp")); d != Withdrawn {
		t.Fatalf("page went away: %v, want withdrawn", d)
	}
	if dialog.aborted.Load() != 2 {
		t.Fatalf("dialogs aborted %d, want 2", dialog.aborted.Load())
	}
	// Neither a timeout nor a withdrawal lets the origin ask again at once:
	// withdrawing used to raise 8 dialogs in 6 s.
	for name, br := range map[string]*Broker{"timeout": b, "withdrawn": b2} {
		if _, err := br.Ask(context.Background(), req("https://idp")); !errors.Is(err, ErrCooldown) {
			t.Errorf("right after a %s: %v, want ErrCooldown", name, err)
		}
	}
	if _, err := b2.Ask(ctx, req("https://other.example")); errors.Is(err, ErrCooldown) {
		t.Error("another origin is cooling down too")
	}
}

func TestOneAtATimeAndCooldown(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	gate := make(chan struct{})
	deny := &gated{gate: gate}
	b := New(Config{Timeout: time.Minute, Cooldown: 30 * time.Second, Now: clock}, deny)

	var wg sync.WaitGroup
	var busy, decided atomic.Int32
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := b.Ask(context.Background(), req("https://idp"))
			switch {
			case errors.Is(err, ErrBusy):
				busy.Add(1)
			case err == nil:
				decided.Add(1)
			}
		}()
	}
	testutil.Eventually(t, 10*time.Second, "99 busy answers", func() bool { return busy.Load() == 99 })
	close(gate)
	wg.Wait()
	if decided.Load() != 1 || busy.Load() != 99 || deny.shown.Load() != 1 {
		t.Fatalf("decided %d, busy %d, dialogs %d; want 1, 99, 1", decided.Load(), busy.Load(), deny.shown.Load())
	}
	now.Add(int64(10 * time.Second))
	var ce *CooldownError
	if _, err := b.Ask(context.Background(), req("https://idp")); !errors.Is(err, ErrCooldown) || !errors.As(err, &ce) || ce.Left != 20*time.Second {
		t.Fatalf("10 s after a deny: %v (%+v), want cooldown with 20 s left", err, ce)
	}
	now.Add(int64(21 * time.Second))
	if _, err := b.Ask(context.Background(), req("https://idp")); err != nil {
		t.Fatalf("after the cooldown: %v", err)
	}
}

// gated denies once its gate opens.
type gated struct {
	gate  chan struct{}
	shown atomic.Int32
}

func (g *gated) Name() string { return "gated" }
func (g *gated) Confirm(ctx context.Context, r Request) (bool, error) {
	g.shown.Add(1)
	select {
	case <-g.gate:
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func TestFrontendErrorLeavesOthers(t *testing.T) {
	var failed atomic.Value
	broken := &broken{}
	b := New(Config{Timeout: time.Minute, OnError: func(f string, err error) { failed.Store(f) }}, broken, &scripted{name: "ok", delay: 10 * time.Millisecond, allow: true})
	if d, _ := b.Ask(context.Background(), req("https://idp")); d != Allow {
		t.Fatalf("decision %v", d)
	}
	if failed.Load() != "broken" {
		t.Fatal("frontend error not reported")
	}
}

type broken struct{}

func (broken) Name() string { return "broken" }
func (broken) Confirm(context.Context, Request) (bool, error) {
	return true, errors.New("no display") // an error must never count as allow
}
