// Package keys keeps the OpenID Connect face's id_token signing keys: one
// live key per algorithm (RS256, ES256), stored in the database with the
// private half sealed under the server's data key, which only the
// server's configuration holds; a stolen database signs nothing.
//
// A key is published in the JWKS from the moment it is stored and signs
// only from its SignFrom time on, so relying parties (and every replica's
// JWKS, which reads the store each time) know it before any token they
// receive carries it. A key that a newer one replaced stays published
// until every id_token it signed has expired, and is deleted after that.
package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// Algorithms the ring signs with; RS256 first, as OIDC Core makes it the
// default every client must accept.
var Algorithms = []string{"RS256", "ES256"}

// DataKeySize is the length of the data key in bytes.
const DataKeySize = 32

// ErrNoDataKey reports that the server was started without a data key,
// so it can neither seal new keys nor open stored ones.
var ErrNoDataKey = errors.New("no data key configured: set --data-key-file")

// Store is what a Ring reads and writes: the signing keys.
type Store interface {
	ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error)
	CreateSigningKey(ctx context.Context, k storage.SigningKey) error
	CreateFirstSigningKey(ctx context.Context, k storage.SigningKey) (bool, error)
	DeleteSigningKey(ctx context.Context, kid string) error
	RaiseTokenTTL(ctx context.Context, ttl time.Duration) error
}

// Ring signs id_tokens and publishes their keys. It is safe for concurrent use.
type Ring struct {
	store    Store
	dataKey  []byte
	tokenTTL time.Duration // how long an id_token lives: how long a replaced key stays published
	now      func() time.Time

	mu      sync.Mutex
	listed  time.Time
	keys    []storage.SigningKey
	signers map[string]jose.Signer // opened keys by kid, built once: a jose signer is read-only and safe to share
}

// cacheFor is how long a replica signs from its copy of the key list
// before reading the store again. It only delays when a replica starts
// using a key that is already published, never publishing.
const cacheFor = 5 * time.Second

// New returns a Ring over store; dataKey may be nil, and then every
// operation fails with ErrNoDataKey. It does no I/O.
func New(store Store, dataKey []byte, tokenTTL time.Duration, now func() time.Time) *Ring {
	if now == nil {
		now = time.Now
	}
	return &Ring{store: store, dataKey: dataKey, tokenTTL: tokenTTL, now: now, signers: map[string]jose.Signer{}}
}

// Signer returns the key that signs with alg now, its kid and the
// jose signer, creating the first key of alg when there is none.
func (r *Ring) Signer(ctx context.Context, alg string) (jose.Signer, error) {
	if len(r.dataKey) == 0 {
		return nil, ErrNoDataKey
	}
	k, err := r.current(ctx, alg)
	if err != nil {
		return nil, err
	}
	return r.open(k)
}

// current returns the newest key of alg whose SignFrom has come.
func (r *Ring) current(ctx context.Context, alg string) (storage.SigningKey, error) {
	now := r.now()
	keys, err := r.cached(ctx, now)
	if err != nil {
		return storage.SigningKey{}, err
	}
	if k, ok := signing(keys, alg, now); ok {
		return k, nil
	}
	if slices.ContainsFunc(keys, func(k storage.SigningKey) bool { return k.Alg == alg }) {
		// A key of alg exists but does not sign yet, and none does: only
		// if someone deleted the live key. Refuse rather than sign with
		// a key relying parties may not know.
		return storage.SigningKey{}, fmt.Errorf("no %s key signs before %v; run `scanfree-server keys rotate --sign-after 0s`", alg, firstSignFrom(keys, alg))
	}
	// The first key of alg: published and used at once, as nothing
	// signed with alg before. (Servers make them at start, see Ensure.)
	if err := r.ensure(ctx, alg, now); err != nil {
		return storage.SigningKey{}, err
	}
	r.mu.Lock()
	r.listed = time.Time{}
	r.mu.Unlock()
	keys, err = r.cached(ctx, now)
	if err != nil {
		return storage.SigningKey{}, err
	}
	if k, ok := signing(keys, alg, now); ok {
		return k, nil
	}
	return storage.SigningKey{}, fmt.Errorf("create first %s key: not found after storing it", alg)
}

// Ensure makes the first key of every algorithm that has none, once
// across replicas starting together, and records this server's id_token
// lifetime on the keys: a server calls it before it says it is ready, so
// that discovery and the JWKS agree from the first request.
func (r *Ring) Ensure(ctx context.Context) error {
	if len(r.dataKey) == 0 {
		return ErrNoDataKey
	}
	keys, err := r.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	now := r.now()
	for _, alg := range Algorithms {
		if !slices.ContainsFunc(keys, func(k storage.SigningKey) bool { return k.Alg == alg }) {
			if err := r.ensure(ctx, alg, now); err != nil {
				return err
			}
		}
	}
	if err := r.store.RaiseTokenTTL(ctx, r.tokenTTL); err != nil {
		return fmt.Errorf("record the id_token lifetime: %w", err)
	}
	r.mu.Lock()
	r.listed = time.Time{}
	r.mu.Unlock()
	return nil
}

// ensure stores a first key of alg unless one exists.
func (r *Ring) ensure(ctx context.Context, alg string, now time.Time) error {
	k, err := r.newKey(alg, now, 0, r.tokenTTL)
	if err != nil {
		return err
	}
	if _, err := r.store.CreateFirstSigningKey(ctx, k); err != nil {
		return fmt.Errorf("store first %s key: %w", alg, err)
	}
	return nil
}

func firstSignFrom(keys []storage.SigningKey, alg string) time.Time {
	var t time.Time
	for _, k := range keys {
		if k.Alg == alg && (t.IsZero() || k.SignFrom.Before(t)) {
			t = k.SignFrom
		}
	}
	return t
}

// signing picks the key of alg that signs at now: of those whose SignFrom
// has come, the one that came last (a rotation's key replaces the key
// before it at its SignFrom, even when both were made in the same
// millisecond).
func signing(keys []storage.SigningKey, alg string, now time.Time) (storage.SigningKey, bool) {
	var best storage.SigningKey
	found := false
	for _, k := range keys {
		if k.Alg != alg || now.Before(k.SignFrom) {
			continue
		}
		if !found || k.SignFrom.After(best.SignFrom) || (k.SignFrom.Equal(best.SignFrom) && k.CreatedAt.After(best.CreatedAt)) {
			best, found = k, true
		}
	}
	return best, found
}

func (r *Ring) cached(ctx context.Context, now time.Time) ([]storage.SigningKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.listed.IsZero() && now.Sub(r.listed) < cacheFor && now.After(r.listed.Add(-time.Second)) {
		return r.keys, nil
	}
	keys, err := r.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	r.keys, r.listed = keys, now
	return keys, nil
}

// open returns the signer of k, opening its sealed private key on first use.
func (r *Ring) open(k storage.SigningKey) (jose.Signer, error) {
	r.mu.Lock()
	s, ok := r.signers[k.KID]
	r.mu.Unlock()
	if ok {
		return s, nil
	}
	der, err := secret.Open(r.dataKey, secret.PurposeSigningKey, k.Sealed, []byte(k.KID))
	if err != nil {
		return nil, fmt.Errorf("open signing key %s: %w (is --data-key-file the file this database's keys were made with?)", k.KID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse signing key %s: %w", k.KID, err)
	}
	if _, ok := priv.(crypto.Signer); !ok {
		return nil, fmt.Errorf("signing key %s: not a signer", k.KID)
	}
	s, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Alg), Key: jose.JSONWebKey{Key: priv, KeyID: k.KID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", k.KID, err)
	}
	r.mu.Lock()
	r.signers[k.KID] = s
	r.mu.Unlock()
	return s, nil
}

// create makes, seals and stores a new key of alg that signs from
// now+signAfter. Its tokens live as long as the servers' did (the longest
// lifetime the existing keys carry), or this ring's when that is longer.
func (r *Ring) create(ctx context.Context, keys []storage.SigningKey, alg string, now time.Time, signAfter time.Duration) (storage.SigningKey, error) {
	ttl := r.tokenTTL
	for _, k := range keys {
		ttl = max(ttl, k.TokenTTL)
	}
	k, err := r.newKey(alg, now, signAfter, ttl)
	if err != nil {
		return k, err
	}
	if err := r.store.CreateSigningKey(ctx, k); err != nil {
		return storage.SigningKey{}, fmt.Errorf("store %s key: %w", alg, err)
	}
	return k, nil
}

// newKey makes and seals a key of alg that signs from now+signAfter.
func (r *Ring) newKey(alg string, now time.Time, signAfter, tokenTTL time.Duration) (storage.SigningKey, error) {
	if len(r.dataKey) == 0 {
		return storage.SigningKey{}, ErrNoDataKey
	}
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return storage.SigningKey{}, fmt.Errorf("unsupported algorithm %q; use RS256 or ES256", alg)
	}
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("encode %s key: %w", alg, err)
	}
	jwk := jose.JSONWebKey{Key: priv.Public(), Algorithm: alg, Use: "sig"}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("thumbprint %s key: %w", alg, err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(thumb[:12])
	pub, err := json.Marshal(jwk)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("encode %s public key: %w", alg, err)
	}
	return storage.SigningKey{KID: jwk.KeyID, Alg: alg, Sealed: secret.Seal(r.dataKey, secret.PurposeSigningKey, der, []byte(jwk.KeyID)), Public: pub,
		CreatedAt: now, SignFrom: now.Add(signAfter), TokenTTL: tokenTTL}, nil
}

// Rotate makes a new key for every algorithm; each is published at once
// and signs from now+signAfter, when the key it replaces stops signing.
func (r *Ring) Rotate(ctx context.Context, signAfter time.Duration) ([]storage.SigningKey, error) {
	if signAfter < 0 {
		return nil, fmt.Errorf("sign-after %v: must not be negative", signAfter)
	}
	now := r.now()
	keys, err := r.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	var made []storage.SigningKey
	for _, alg := range Algorithms {
		wait := signAfter
		if _, ok := signing(keys, alg, now); !ok {
			// Nothing signs with alg yet: no relying party can hold a
			// token of it, and waiting would leave alg with no key.
			wait = 0
		}
		k, err := r.create(ctx, keys, alg, now, wait)
		if err != nil {
			return made, err
		}
		made = append(made, k)
	}
	r.mu.Lock()
	r.listed = time.Time{}
	r.mu.Unlock()
	return made, nil
}

// State is a key as `keys list` shows it.
type State struct {
	storage.SigningKey
	Status string // "next", "signing", "retired" (published, no longer signs) or "expired"
	// Until is when a retired key is no longer needed, or zero.
	Until time.Time
}

// List returns every stored key with its state at now.
func (r *Ring) List(ctx context.Context) ([]State, error) {
	keys, err := r.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	return states(keys, r.now(), r.tokenTTL), nil
}

// states classifies keys (oldest first) at now.
func states(keys []storage.SigningKey, now time.Time, tokenTTL time.Duration) []State {
	out := make([]State, len(keys))
	for i, k := range keys {
		out[i] = State{SigningKey: k}
		switch live, ok := signing(keys, k.Alg, now); {
		case now.Before(k.SignFrom):
			out[i].Status = "next"
		case ok && live.KID == k.KID:
			out[i].Status = "signing"
		default:
			// Replaced by the first key of its algorithm that took over
			// after it: its last token was signed then.
			replacedAt := live.SignFrom
			for _, j := range keys {
				later := j.SignFrom.After(k.SignFrom) || (j.SignFrom.Equal(k.SignFrom) && j.CreatedAt.After(k.CreatedAt))
				if j.Alg == k.Alg && j.KID != k.KID && later && !now.Before(j.SignFrom) && j.SignFrom.Before(replacedAt) {
					replacedAt = j.SignFrom
				}
			}
			// The servers' lifetime, kept with the key, not this process's.
			ttl := k.TokenTTL
			if ttl == 0 {
				ttl = tokenTTL
			}
			out[i].Until = replacedAt.Add(ttl)
			out[i].Status = "retired"
			if !now.Before(out[i].Until) {
				out[i].Status = "expired"
			}
		}
	}
	return out
}

// JWKS returns the published public keys, read from the store (never
// from a cache): a key another replica just stored is in it.
func (r *Ring) JWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	keys, err := r.store.ListSigningKeys(ctx)
	if err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("list signing keys: %w", err)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, st := range states(keys, r.now(), r.tokenTTL) {
		if st.Status == "expired" {
			continue
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(st.Public); err != nil {
			return set, fmt.Errorf("signing key %s: public key: %w", st.KID, err)
		}
		set.Keys = append(set.Keys, jwk)
	}
	return set, nil
}

// Prune deletes the keys no id_token can need any more; it returns how
// many went.
func (r *Ring) Prune(ctx context.Context) (int, error) {
	st, err := r.List(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range st {
		if k.Status != "expired" {
			continue
		}
		if err := r.store.DeleteSigningKey(ctx, k.KID); err != nil {
			return n, fmt.Errorf("delete signing key %s: %w", k.KID, err)
		}
		n++
	}
	return n, nil
}

// createDataKey makes the data key file at path with a fresh key. The
// file appears whole or not at all (written aside, then linked into
// place), so a process starting at the same moment reads either nothing
// or the complete key, and of two creators the first wins.
func createDataKey(path string) ([]byte, error) {
	k := make([]byte, DataKeySize)
	rand.Read(k)
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".new-*")
	if err != nil {
		return nil, fmt.Errorf("create data key %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create data key %s: %w", path, err)
	}
	if _, err := tmp.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write data key %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write data key %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return LoadDataKey(path, false) // made by another process just now
	} else if err != nil {
		return nil, fmt.Errorf("create data key %s: %w", path, err)
	}
	return k, nil
}

// LoadDataKey reads the data key from path: DataKeySize random bytes,
// base64 (standard or URL alphabet) on one line. With create, a missing
// file is made with a fresh key, readable by its owner only.
func LoadDataKey(path string, create bool) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		return createDataKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read data key: %w", err)
	}
	s := strings.TrimSpace(string(b))
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		k, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	if err != nil || len(k) != DataKeySize {
		return nil, fmt.Errorf("data key %s: want %d random bytes in base64 on one line; make one with `head -c %d /dev/urandom | base64 > %s`",
			path, DataKeySize, DataKeySize, path)
	}
	return k, nil
}
