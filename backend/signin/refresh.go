package signin

import (
	"context"
	"errors"
	"fmt"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// Reasons of a refused refresh.
const (
	// TokenInvalid: no such refresh token, or another app's or face's.
	TokenInvalid Reason = iota + 200
	// TokenRevoked: its sign-in was taken back (device, app, person, or a
	// reuse found before); no alarm.
	TokenRevoked
	// TokenReused: a rotated refresh token came back; its family is
	// revoked now and the reuse recorded.
	TokenReused
	// TokenExpired: its life ended.
	TokenExpired
)

// Refresh is one face's refresh request.
type Refresh struct {
	Face  storage.Face
	AppID string
	Token string // the refresh token presented
	// Rotate retires the presented token for the ones Issue gives (the
	// OIDC face); otherwise they join its family beside it (WeChat's
	// refresh, which answers a new access token only).
	Rotate bool
	// Check, when set, applies the face's own rules before anything is
	// stored; its error is passed through as Mismatch.
	Check func(t storage.Token) error
	Issue func(t storage.Token) []storage.Token
}

// Refresh renews a sign-in from its refresh token, in the same order for
// every face: the token exists and is the app's and the face's; it was
// not revoked; it was not rotated before (a rotated token presented again
// means two parties hold the family: it is revoked and recorded as
// "refresh_reused"); it is not expired; the face's check. Storing is
// serialized with the family's revocation on every store.
func (s *Service) Refresh(ctx context.Context, r Refresh) (storage.Token, error) {
	hash := secret.Hash(r.Token)
	rt, err := s.store.GetToken(ctx, hash)
	switch {
	case errors.Is(err, storage.ErrNotFound) || (err == nil && (rt.Kind != storage.RefreshToken || rt.AppID != r.AppID || rt.Face.String() != r.Face.String())):
		return rt, refuse(TokenInvalid, "invalid refresh_token")
	case err != nil:
		return rt, fmt.Errorf("refresh: %w", err)
	case !rt.RevokedAt.IsZero():
		return rt, errTokenRevoked
	case !rt.RotatedAt.IsZero():
		return rt, s.refreshReused(ctx, rt)
	case !s.cfg.Now().Before(rt.ExpiresAt):
		return rt, refuse(TokenExpired, "refresh_token expired; sign in again")
	}
	if r.Check != nil {
		if err := r.Check(rt); err != nil {
			return rt, &Refusal{Reason: Mismatch, Msg: err.Error(), Face: err}
		}
	}
	store := s.store.ExtendFamily
	if r.Rotate {
		store = s.store.RotateToken
	}
	switch err := store(ctx, hash, s.cfg.Now(), r.Issue(rt)); {
	case errors.Is(err, storage.ErrAlreadyUsed):
		return rt, s.refreshReused(ctx, rt)
	case errors.Is(err, storage.ErrRevoked):
		return rt, errTokenRevoked
	case errors.Is(err, storage.ErrNotFound):
		return rt, refuse(TokenInvalid, "invalid refresh_token")
	case err != nil:
		return rt, fmt.Errorf("refresh: %w", err)
	}
	return rt, nil
}

var errTokenRevoked = refuse(TokenRevoked, "refresh_token was revoked (the sign-in was taken back); sign in again")

// refreshReused revokes the family of a retired refresh token presented
// again. When revoking fails the error says so, never "revoked".
func (s *Service) refreshReused(ctx context.Context, rt storage.Token) error {
	if err := s.store.RevokeFamily(ctx, rt.CodeHash, s.cfg.Now()); err != nil {
		return fmt.Errorf("revoke the family of a reused refresh token: %w", err)
	}
	s.cfg.Logger.WarnContext(ctx, "rotated refresh token reused; revoked its family", "appid", rt.AppID, "user", rt.UserID)
	s.Event(ctx, storage.Event{UserID: rt.UserID, Kind: "refresh_reused", AppID: rt.AppID,
		Detail: "a refresh token was used twice; every token of that sign-in was revoked"})
	return refuse(TokenReused, "refresh_token was already used; every token of this sign-in is revoked, sign in again")
}
