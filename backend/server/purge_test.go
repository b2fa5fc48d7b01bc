package server

import (
	"testing"
	"time"
)

// TestPurgeBefore: what expired a minute ago goes; a code stays while a
// token it issued may still live; events stay for EventRetention.
func TestPurgeBefore(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	cfg := Config{PublicURL: "http://idp.localhost", Now: func() time.Time { return now }}
	cfg.setDefaults()
	s := &Server{cfg: cfg}
	p := s.purgeBefore()
	if want := now.Add(-time.Minute); !p.Expired.Equal(want) {
		t.Errorf("Expired = %v, want %v", p.Expired, want)
	}
	if want := now.Add(-time.Minute - 30*24*time.Hour); !p.Codes.Equal(want) {
		t.Errorf("Codes = %v, want %v (a refresh token's life before Expired)", p.Codes, want)
	}
	if want := now.Add(-90 * 24 * time.Hour); !p.Events.Equal(want) {
		t.Errorf("Events = %v, want %v", p.Events, want)
	}
}
