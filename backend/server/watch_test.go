package server_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/deviceapi"
)

// TestWatchCap: one desktop credential cannot hold more than 4 watches at
// once (each a goroutine, a connection and a read every 500 ms); the rest
// are refused at once with 429, and a slot given back is usable again.
func TestWatchCap(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	cred := e.enrol("alice")

	// watch opens a watch and answers its status, or 0 when ctx ended it
	// while the backend held it.
	watch := func(ctx context.Context) int {
		req, _ := http.NewRequestWithContext(ctx, "GET", e.url+deviceapi.PathWatch, nil)
		req.Header.Set("Authorization", "Bearer "+cred)
		resp, err := http.DefaultClient.Do(req)
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return 0
		}
		if err != nil {
			t.Error(err)
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // a failed test still lets the server close
	statuses := make(chan int, 6)
	for range 6 {
		go func() { statuses <- watch(ctx) }()
	}
	refused := 0
	deadline := time.After(10 * time.Second)
	for refused < 2 {
		select {
		case st := <-statuses:
			if st != http.StatusTooManyRequests {
				t.Fatalf("a watch over the cap answered %d, want 429", st)
			}
			refused++
		case <-deadline:
			t.Fatalf("%d of 6 watches refused in 10 s, want 2", refused)
		}
	}
	cancel()
	for range 4 {
		if st := <-statuses; st != 0 {
			t.Fatalf("a held watch answered %d", st)
		}
	}

	// The released slots admit a watch again: it is held, not refused.
	for end := time.Now().Add(10 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st := watch(ctx)
		cancel()
		if st == 0 {
			break
		}
		if st != http.StatusTooManyRequests || time.Now().After(end) {
			t.Fatalf("a watch after the others ended answered %d, want it held", st)
		}
	}
}
