package localapi

import (
	"crypto/rand"
	"sync"
	"time"
)

// binding is what an authorize_uuid was issued for.
type binding struct {
	appID, redirectURI, origin string
}

// uuidStore holds the outstanding authorize_uuids: random, single use,
// short-lived, and bound to the appid, redirect_uri and origin of the
// check-login that minted them.
type uuidStore struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]uuidEntry
}

type uuidEntry struct {
	b       binding
	expires time.Time
}

// maxUUIDs bounds memory: the oldest are dropped beyond it.
const maxUUIDs = 1024

func newUUIDStore(ttl time.Duration) *uuidStore {
	return &uuidStore{ttl: ttl, m: map[string]uuidEntry{}}
}

// uuidAlphabet gives 16 characters ≈ 95 bits, the length the seeds show.
const uuidAlphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	for i := range b {
		b[i] = uuidAlphabet[int(b[i])%len(uuidAlphabet)] // 256 % 62 skews by < 1.6%; 95 bits either way
	}
	return string(b)
}

// Mint returns a fresh authorize_uuid for b.
func (s *uuidStore) Mint(b binding) string {
	id := newUUID()
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxUUIDs {
		var oldest string
		var oldestAt time.Time
		for k, e := range s.m {
			if !now.Before(e.expires) {
				delete(s.m, k)
			} else if oldest == "" || e.expires.Before(oldestAt) {
				oldest, oldestAt = k, e.expires
			}
		}
		if len(s.m) >= maxUUIDs {
			delete(s.m, oldest)
		}
	}
	s.m[id] = uuidEntry{b: b, expires: now.Add(s.ttl)}
	return id
}

// Consume reports whether id is outstanding, unexpired and bound to b. It
// removes id in every case: a uuid is tried once.
func (s *uuidStore) Consume(id string, b binding) bool {
	s.mu.Lock()
	e, ok := s.m[id]
	delete(s.m, id)
	s.mu.Unlock()
	return ok && time.Now().Before(e.expires) && e.b == b
}
