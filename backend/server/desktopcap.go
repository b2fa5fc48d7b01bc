package server

import (
	"context"
	"fmt"
	"slices"

	"github.com/scanfree/scanfree/backend/storage"
)

// Desktop cap policies (Config.MaxDesktopsPolicy).
const (
	// CapRefuse refuses a new desktop over the cap; the person frees a
	// slot by revoking one on her account page.
	CapRefuse = "refuse"
	// CapEvictOldest signs out the least recently seen desktop to make
	// room, and tells it why.
	CapEvictOldest = "evict-oldest"
)

// capMessage tells the person over the cap what to do.
func (s *Server) capMessage() string { return fmt.Sprintf(capText, s.capArgs()...) }

// capText is capMessage's text, filled in with capArgs.
const capText = "Your account has %d signed-in desktops, the most allowed. Revoke one on your account page (%s/account), then sign this desktop in again."

func (s *Server) capArgs() []any { return []any{s.cfg.MaxDesktops, s.public.String()} }

// overCap reports whether userID has MaxDesktops active desktops already,
// and them, least recently seen first.
func (s *Server) overCap(ctx context.Context, userID string) (bool, []storage.Device, error) {
	all, err := s.store.ListDevices(ctx, userID)
	if err != nil {
		return false, nil, err
	}
	active := slices.DeleteFunc(all, func(d storage.Device) bool { return !d.Active() })
	slices.SortFunc(active, func(a, b storage.Device) int { return a.LastSeenAt.Compare(b.LastSeenAt) })
	return len(active) >= s.cfg.MaxDesktops, active, nil
}

// makeRoom applies the cap before userID's new desktop named name is
// enrolled: with CapRefuse it reports false when she is at the cap (the
// refusal is logged); with CapEvictOldest it signs out her least recently
// seen desktops until one more fits, each told why.
func (s *Server) makeRoom(ctx context.Context, userID, name, addr string) (bool, error) {
	over, active, err := s.overCap(ctx, userID)
	if err != nil || !over {
		return err == nil, err
	}
	if s.cfg.MaxDesktopsPolicy != CapEvictOldest {
		s.signin.Refused(ctx, storage.Event{UserID: userID, Method: storage.MethodDevice, Addr: addr}, "cap",
			fmt.Sprintf("%s not enrolled: %d desktops is the most allowed", name, s.cfg.MaxDesktops))
		return false, nil
	}
	for _, d := range active[:len(active)-s.cfg.MaxDesktops+1] {
		detail := fmt.Sprintf("%s signed out: %s was enrolled and at most %d desktops may be signed in (the least recently used one goes)",
			d.Name, name, s.cfg.MaxDesktops)
		if err := s.signin.RevokeDevice(ctx, d, detail); err != nil {
			return false, err
		}
	}
	return true, nil
}
