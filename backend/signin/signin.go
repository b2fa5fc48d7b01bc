// Package signin is the sign-in core every face of the backend calls: the
// WeChat face (/sns/*), the OpenID Connect face (/oauth2/*), desktop apps
// (/sns/jscode2session), the hosted pages and the device API. It is the
// one place that checks and mints codes, redeems them (one path for every
// face, where a replay revokes the sign-in's whole token family),
// refreshes and revokes; it derives the person's openid and unionid for
// an app, and writes the audit log.
//
// It speaks no wire format: a face parses its request, calls the core
// with typed values, and maps a *Refusal to its own errors (WeChat
// errcodes, RFC 6749 errors, the daemon's errcodes). Any other error is
// the system failing, and a face answers it as such: in particular a
// replay whose revocation failed is never reported as revoked.
package signin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// Store is what the core reads and writes.
type Store interface {
	GetApp(ctx context.Context, appID string) (storage.App, error)
	GetUser(ctx context.Context, id string) (storage.User, error)
	CreateSignIn(ctx context.Context, c storage.Code, e storage.Event) error
	CreateAppSignIn(ctx context.Context, a storage.Consent, allowed storage.Event, c storage.Code, e storage.Event) error
	GetConsent(ctx context.Context, userID, appID string) (storage.Consent, error)
	GetCode(ctx context.Context, hash []byte) (storage.Code, error)
	RedeemCode(ctx context.Context, hash []byte, now time.Time, issued []storage.Token) error
	RevokeFamily(ctx context.Context, codeHash []byte, now time.Time) error
	GetToken(ctx context.Context, hash []byte) (storage.Token, error)
	RevokeToken(ctx context.Context, hash []byte, now time.Time) error
	GetDevice(ctx context.Context, id string) (storage.Device, error)
	RevokeDevice(ctx context.Context, id string, now time.Time) error
	RevokeGrant(ctx context.Context, userID, appID string, now time.Time) error
	DeleteConsent(ctx context.Context, userID, appID string) error
	SignOutUser(ctx context.Context, userID string, now time.Time) error
	RotateToken(ctx context.Context, hash []byte, now time.Time, issued []storage.Token) error
	ExtendFamily(ctx context.Context, hash []byte, now time.Time, issued []storage.Token) error
	SetSessionKey(ctx context.Context, userID, appID string, sealed []byte, at time.Time) error
	AddEvent(ctx context.Context, e storage.Event) error
	AddAlert(ctx context.Context, e storage.Event, body []byte) error
	ListIdentities(ctx context.Context, connectorID, userID string) ([]storage.Identity, error)
	QueryEvents(ctx context.Context, q storage.EventQuery) ([]storage.Event, error)
	Secret(ctx context.Context, name string, fresh []byte) ([]byte, error)
	DeleteSecret(ctx context.Context, name string) error
}

// Config is what a Service needs besides its store.
type Config struct {
	// DataKey seals the openid key in the store; without one the key is
	// stored in the clear (a PostgreSQL deployment without a data key).
	DataKey []byte
	Now     func() time.Time
	Logger  *slog.Logger
	// CodeTTL is a minted code's life (5 min).
	CodeTTL time.Duration
	// Redeemed, when set, is told each redemption's outcome: "ok", or
	// "reused" for a replay; Minted of each code minted (the metrics).
	Redeemed func(outcome string)
	Minted   func()
	// SignIn is called for each sign-in and refused sign-in logged, with
	// its method and result (the sign-in counters).
	SignIn func(method, result string)
	// Country returns a client address's ISO 3166 country, "" when not
	// known (no GeoIP database: every country is unknown).
	Country func(addr string) string
	// TravelWindow is how soon after a sign-in from one country a
	// sign-in from another is an alert (2 h).
	TravelWindow time.Duration
	// Recheck asks the person's directories whether they still have her
	// and reports whether one said she is gone (and so disabled); nil: no
	// directories. Called before every code is minted.
	Recheck func(ctx context.Context, u storage.User) (gone bool)
	// Webhook is whether each alert is also stored, with its event, in
	// the webhook's outbox (Storage.AddAlert; a webhook URL is set).
	Webhook bool
}

// Service is the sign-in core. It is safe for concurrent use.
type Service struct {
	store Store
	cfg   Config

	keyMu     sync.Mutex
	openidKey []byte
}

// New returns a Service over store. It does no I/O.
func New(store Store, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Redeemed == nil {
		cfg.Redeemed = func(string) {}
	}
	if cfg.Minted == nil {
		cfg.Minted = func() {}
	}
	if cfg.TravelWindow <= 0 {
		cfg.TravelWindow = 2 * time.Hour
	}
	if cfg.Country == nil {
		cfg.Country = func(string) string { return "" }
	}
	if cfg.SignIn == nil {
		cfg.SignIn = func(string, string) {}
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = 5 * time.Minute
	}
	return &Service{store: store, cfg: cfg}
}

// Reason is why the core refused.
type Reason int

// Reasons of a Refusal.
const (
	// CodeInvalid: no such code, or another app's.
	CodeInvalid Reason = iota + 1
	// CodeOtherFace: the code belongs to another face; it was not spent.
	CodeOtherFace
	// CodeExpired: the code's life ended.
	CodeExpired
	// CodeReused: the code was redeemed before; its family is revoked now.
	CodeReused
	// Mismatch: a face's own binding failed (redirect_uri, PKCE, a rate
	// limit): the face's refusal, passed through.
	Mismatch
)

// Refusal is the core's answer to a request it will not honour. Msg is
// for the client; the face picks the wire error from Reason (and, for
// Mismatch, from the refusal its own check returned, in Face).
type Refusal struct {
	Reason Reason
	Msg    string
	// Face is what a face's Check returned, unchanged, for Mismatch.
	Face error
}

func (r *Refusal) Error() string { return r.Msg }

// Unwrap returns the face's own refusal, if any.
func (r *Refusal) Unwrap() error { return r.Face }

// Event records an audit entry and writes it as one structured log line
// at info level (for a SIEM: kind, person, app, desktop, what happened;
// never a secret, code or token, which no event holds). A failure to
// store it is logged, not returned, because the action it describes
// already happened.
func (s *Service) Event(ctx context.Context, e storage.Event) {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.cfg.Now()
	}
	if e.Country == "" && e.Addr != "" {
		e.Country = s.cfg.Country(e.Addr)
	}
	s.Logged(ctx, e)
	if err := s.store.AddEvent(ctx, e); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "audit log", "kind", e.Kind, "err", err)
	}
}

// Logged writes events stored by a transaction of their own (a sign-in
// with its code) as the structured log lines Event writes, and counts
// the sign-ins among them (Config.SignIn).
func (s *Service) Logged(ctx context.Context, events ...storage.Event) {
	for _, e := range events {
		attrs := []any{"kind", e.Kind, "user", e.UserID, "app", e.AppID, "device", e.DeviceID, "detail", e.Detail}
		if e.Result != "" {
			attrs = append(attrs, "method", e.Method, "face", e.Face, "addr", e.Addr, "country", e.Country, "result", e.Result, "reason", e.Reason)
			s.cfg.SignIn(e.Method, e.Result)
		}
		s.cfg.Logger.InfoContext(ctx, "audit", attrs...)
	}
}

// Refused records a sign-in refused before any code was minted: e says
// who (when known), how and from where; reason names why
// (storage.Event.Reason) and detail says it for people.
func (s *Service) Refused(ctx context.Context, e storage.Event, reason, detail string) {
	e.Kind, e.Result, e.Reason, e.Detail = "signin_refused", storage.ResultRefused, reason, detail
	s.Event(ctx, e)
}

// refused records the core's own refusal err of e's sign-in; a failure
// that is not a refusal (the database) is not a sign-in outcome.
func (s *Service) refused(ctx context.Context, e storage.Event, err error) {
	var ref *Refusal
	if errors.As(err, &ref) {
		s.Refused(ctx, e, ref.Name(), "Refused: "+ref.Msg)
	}
}

func refuse(reason Reason, format string, args ...any) *Refusal {
	return &Refusal{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}
