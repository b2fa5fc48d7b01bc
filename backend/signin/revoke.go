package signin

import (
	"context"
	"errors"
	"fmt"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// RevokeDevice takes back what an enrolled desktop was given: the device,
// its codes not yet redeemed and every family it began, however old (one
// transaction), then records it with detail ("… signed out", "… revoked
// on the account page").
func (s *Service) RevokeDevice(ctx context.Context, d storage.Device, detail string) error {
	if err := s.store.RevokeDevice(ctx, d.ID, s.cfg.Now()); err != nil {
		return fmt.Errorf("revoke device: %w", err)
	}
	s.Event(ctx, storage.Event{UserID: d.UserID, Kind: "device_revoked", DeviceID: d.ID, Detail: detail})
	return nil
}

// RevokeApp takes back what userID gave appID: the grant, its pending
// codes, its token families and the desktop-app consent (one
// transaction), then records it.
func (s *Service) RevokeApp(ctx context.Context, userID, appID, detail string) error {
	if err := s.store.RevokeGrant(ctx, userID, appID, s.cfg.Now()); err != nil {
		return fmt.Errorf("revoke app: %w", err)
	}
	s.Event(ctx, storage.Event{UserID: userID, Kind: "app_revoked", AppID: appID, Detail: detail})
	return nil
}

// SignOutEverywhere ends every sign-in of userID at once: desktops, token
// families, web sessions and pending codes (one transaction), then
// records it. The account stays; she may sign in again.
func (s *Service) SignOutEverywhere(ctx context.Context, userID, detail string) error {
	if err := s.store.SignOutUser(ctx, userID, s.cfg.Now()); err != nil {
		return fmt.Errorf("sign out everywhere: %w", err)
	}
	s.Event(ctx, storage.Event{UserID: userID, Kind: "signed_out_everywhere", Detail: detail})
	return nil
}

// ForgetApp withdraws a person's consent to a desktop app (its phone
// number's and its session_key with it): its next login asks again.
func (s *Service) ForgetApp(ctx context.Context, userID, appID, detail string) error {
	if err := s.store.DeleteConsent(ctx, userID, appID); err != nil {
		return fmt.Errorf("forget app: %w", err)
	}
	s.Event(ctx, storage.Event{UserID: userID, Kind: "app_forgotten", AppID: appID, Detail: detail})
	return nil
}

// RevokeToken is RFC 7009 revocation by app appID on face: a refresh
// token takes its whole family with it, an access token only itself. A
// token unknown, or another app's or face's, is left alone and is not an
// error (the client is told nothing about tokens it does not hold).
func (s *Service) RevokeToken(ctx context.Context, face storage.Face, appID, token string) error {
	t, err := s.store.GetToken(ctx, secret.Hash(token))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("revoke token: %w", err)
	case t.AppID != appID || t.Face.String() != face.String():
		return nil
	case t.Kind == storage.RefreshToken:
		err = s.store.RevokeFamily(ctx, t.CodeHash, s.cfg.Now())
	default:
		err = s.store.RevokeToken(ctx, t.Hash, s.cfg.Now())
	}
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}
