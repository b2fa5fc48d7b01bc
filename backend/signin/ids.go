package signin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// Names of the openid key in the store: sealed with the data key, or
// (a server without one, or a database from before sealing) in the clear.
const (
	openidKeySealed = "openid-key-sealed"
	openidKeyPlain  = "openid-key"
)

// Key returns the server's HMAC key for openid and unionid, created and
// stored on first use so every replica derives the same identifiers.
// With a data key it is stored sealed; a key stored in the clear before
// is sealed, then deleted, so identifiers stay the same.
func (s *Service) Key(ctx context.Context) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.openidKey != nil {
		return s.openidKey, nil
	}
	var k []byte
	var err error
	if len(s.cfg.DataKey) == 0 {
		k, err = s.store.Secret(ctx, openidKeyPlain, []byte(secret.Token()))
	} else {
		k, err = s.sealedKey(ctx)
	}
	if err != nil {
		return nil, err
	}
	s.openidKey = k
	return k, nil
}

func (s *Service) sealedKey(ctx context.Context) ([]byte, error) {
	sealed, err := s.store.Secret(ctx, openidKeySealed, nil)
	legacy := false
	if errors.Is(err, storage.ErrNotFound) {
		k, err := s.store.Secret(ctx, openidKeyPlain, nil)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			k = []byte(secret.Token())
		case err != nil:
			return nil, err
		default:
			legacy = true
		}
		// The first replica to store it wins; the others open its seal.
		sealed, err = s.store.Secret(ctx, openidKeySealed, secret.Seal(s.cfg.DataKey, secret.PurposeOpenIDKey, k, nil))
		if err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	k, err := secret.Open(s.cfg.DataKey, secret.PurposeOpenIDKey, sealed, nil)
	if err != nil {
		return nil, fmt.Errorf("open the openid key: %w (the data key differs from the one it was sealed with)", err)
	}
	if legacy {
		if err := s.store.DeleteSecret(ctx, openidKeyPlain); err != nil {
			return nil, err
		}
		s.cfg.Logger.InfoContext(ctx, "the openid key is now sealed with the data key; its clear copy was deleted from the database")
	}
	return k, nil
}

// OpenID is stable per (user, app) and unlinkable across apps.
func (s *Service) OpenID(ctx context.Context, userID, appID string) (string, error) {
	k, err := s.Key(ctx)
	if err != nil {
		return "", err
	}
	return "o" + b64(secret.MAC(k, "openid", appID, userID))[:27], nil
}

// UnionID is stable per (user, app owner).
func (s *Service) UnionID(ctx context.Context, userID, owner string) (string, error) {
	k, err := s.Key(ctx)
	if err != nil {
		return "", err
	}
	return "u" + b64(secret.MAC(k, "unionid", owner, userID))[:27], nil
}

// IDs returns userID's openid for app and unionid for its owner, which
// every face answers together.
func (s *Service) IDs(ctx context.Context, userID string, app storage.App) (openid, unionid string, err error) {
	if openid, err = s.OpenID(ctx, userID, app.AppID); err != nil {
		return "", "", err
	}
	unionid, err = s.UnionID(ctx, userID, app.Owner)
	return openid, unionid, err
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
