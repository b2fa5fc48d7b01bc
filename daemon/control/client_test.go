package control

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNoAnswer: a daemon that takes the connection and then says nothing
// (stuck, or a pipe quirk as Wine's was) ends a call with ErrNoAnswer and
// what to do, instead of hanging `scanfreed status` and the tray.
func TestNoAnswer(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "control.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("no unix sockets here: %v", err)
	}
	held := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held <- c // read nothing, answer nothing
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for len(held) > 0 {
			(<-held).Close()
		}
	})

	c := NewClient(sock)
	c.within = 200 * time.Millisecond
	_, err = c.Status(context.Background())
	if !errors.Is(err, ErrNoAnswer) || !strings.Contains(err.Error(), "restart it") {
		t.Fatalf("Status = %v; want ErrNoAnswer saying what to do", err)
	}
	t.Run("a deadline of the caller's own is kept", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := c.Status(ctx); err == nil || errors.Is(err, ErrNoAnswer) {
			t.Fatalf("Status = %v; want the caller's own deadline to end it", err)
		}
	})
}
