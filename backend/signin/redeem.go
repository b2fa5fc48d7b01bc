package signin

import (
	"context"
	"errors"
	"fmt"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// Redemption is one face's request to redeem a code.
type Redemption struct {
	Face  storage.Face
	AppID string // the authenticated app redeeming it
	Code  string
	// Check, when set, applies the face's own bindings to the code before
	// it is spent (redirect_uri, PKCE, a quota); an error it returns is
	// the face's refusal, passed through as Mismatch, and spends nothing.
	Check func(c storage.Code) error
	// Issue returns the tokens the redemption stores with the code, in one
	// transaction (none for a desktop app's login code).
	Issue func(c storage.Code) []storage.Token
}

// Redeem spends code r.Code for app r.AppID on face r.Face and stores
// what r.Issue gives, in this order of checks for every face: the code
// exists and is the app's; it is this face's (another face's code is not
// spent); it was not redeemed before (a replay revokes the family the
// first redemption began and is recorded as "code_reused"); it is not
// expired; the face's own check. Of concurrent redemptions exactly one
// wins; the others are replays.
func (s *Service) Redeem(ctx context.Context, r Redemption) (storage.Code, error) {
	hash := secret.Hash(r.Code)
	c, err := s.store.GetCode(ctx, hash)
	switch {
	case errors.Is(err, storage.ErrNotFound) || (err == nil && c.AppID != r.AppID):
		return c, refuse(CodeInvalid, "invalid code")
	case err != nil:
		return c, fmt.Errorf("redeem code: %w", err)
	case c.Face.String() != r.Face.String():
		return c, refuse(CodeOtherFace, "invalid code: it was issued for the %s face; redeem it there", c.Face)
	case !c.UsedAt.IsZero():
		return c, s.replay(ctx, c)
	case !s.cfg.Now().Before(c.ExpiresAt):
		return c, refuse(CodeExpired, "code expired")
	}
	if r.Check != nil {
		if err := r.Check(c); err != nil {
			return c, &Refusal{Reason: Mismatch, Msg: err.Error(), Face: err}
		}
	}
	var issued []storage.Token
	if r.Issue != nil {
		issued = r.Issue(c)
	}
	switch err := s.store.RedeemCode(ctx, hash, s.cfg.Now(), issued); {
	case errors.Is(err, storage.ErrAlreadyUsed):
		return c, s.replay(ctx, c)
	case err != nil:
		return c, fmt.Errorf("redeem code: %w", err)
	}
	s.cfg.Redeemed("ok")
	return c, nil
}

// replay answers a code presented again, even by its rightful app: the
// code leaked (RFC 6749 section 4.1.2), so the family its first
// redemption began is revoked (for a desktop app's login code, the
// session_key it gave out). When revoking fails the error says so, and
// the face must not tell the client its tokens are gone.
func (s *Service) replay(ctx context.Context, c storage.Code) error {
	s.cfg.Redeemed("reused")
	now := s.cfg.Now()
	if err := s.store.RevokeFamily(ctx, c.Hash, now); err != nil {
		return fmt.Errorf("revoke the sign-in of a replayed code: %w", err)
	}
	if c.Face == storage.FaceJSCode {
		err := s.store.SetSessionKey(ctx, c.UserID, c.AppID, nil, now)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("end the session of a replayed code: %w", err)
		}
	}
	s.cfg.Logger.WarnContext(ctx, "authorization code reused; revoked what it issued", "appid", c.AppID, "user", c.UserID, "face", c.Face.String())
	s.Event(ctx, storage.Event{UserID: c.UserID, Kind: "code_reused", AppID: c.AppID, DeviceID: c.DeviceID,
		Detail: "a sign-in code was presented twice; what the app got with it was revoked"})
	return refuse(CodeReused, "code already used; what was issued for it is revoked")
}
