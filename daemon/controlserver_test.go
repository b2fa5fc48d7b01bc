//go:build !windows

package daemon

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/scanfree/scanfree/daemon/peer"
)

// TestControlGuard: the control API refuses anything a browser could
// send (Origin, Referer) and any peer whose UID it cannot read, and
// serves our own user's clients over the socket.
func TestControlGuard(t *testing.T) {
	dir, err := os.MkdirTemp("", "sfctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d, err := New(Config{StateDir: dir, BackendURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "c.sock")
	ln, err := peer.ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: d.controlHandler(), ConnContext: peer.ConnContext}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "unix", sock)
	}}}
	t.Cleanup(c.CloseIdleConnections)

	for _, tc := range []struct {
		name   string
		header http.Header
		want   int
	}{
		{"own user", nil, http.StatusNotFound}, // through the guard to the mux, which knows no such path
		{"Origin", http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"null Origin", http.Header{"Origin": {"null"}}, http.StatusForbidden},
		{"Referer", http.Header{"Referer": {"https://evil.example/page"}}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://scanfreed/v0/nothing-here", nil)
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	t.Run("peer unknown", func(t *testing.T) {
		// No Unix connection behind the request: the UID cannot be read, so
		// the request is refused (it used to pass).
		rec := httptest.NewRecorder()
		d.controlHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/v0/nothing-here", nil))
		if rec.Code != http.StatusForbidden {
			t.Fatalf("status %d, want 403", rec.Code)
		}
	})
}
