package localapi

import (
	"crypto/rand"
	"sync"
	"time"
)

// binding is what an authorize_uuid was issued for.
type binding struct {
	appID, redirectURI, origin, scope, state string
}

// uuidStore holds the outstanding authorize_uuids: random, single use,
// short-lived, and bound to the appid, redirect_uri, origin, scope and
// state of the check-login that minted them: authorize must ask for
// exactly what check-login was asked.
type uuidStore struct {
	ttl   time.Duration
	now   func() time.Time
	mu    sync.Mutex
	m     map[string]uuidEntry
	order []string // ids in minting order, which with one TTL is expiry order
}

type uuidEntry struct {
	b       binding
	expires time.Time
}

// maxUUIDs bounds memory: the oldest are dropped beyond it.
const maxUUIDs = 1024

func newUUIDStore(ttl time.Duration) *uuidStore {
	return &uuidStore{ttl: ttl, now: time.Now, m: map[string]uuidEntry{}}
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

// Mint returns a fresh authorize_uuid for b. Expired ids, and beyond
// maxUUIDs the oldest, are dropped from the front of the queue: O(1)
// amortised, however many pages call.
func (s *uuidStore) Mint(b binding) string {
	id := newUUID()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.order) > 0 {
		head := s.order[0]
		e, live := s.m[head]
		if live && now.Before(e.expires) && len(s.m) < maxUUIDs {
			break
		}
		delete(s.m, head) // expired, consumed already (no-op), or the oldest of too many
		s.order = s.order[1:]
	}
	s.m[id] = uuidEntry{b: b, expires: now.Add(s.ttl)}
	s.order = append(s.order, id)
	return id
}

// Consume reports whether id is outstanding, unexpired and bound to b. It
// removes id in every case: a uuid is tried once.
func (s *uuidStore) Consume(id string, b binding) bool {
	s.mu.Lock()
	e, ok := s.m[id]
	delete(s.m, id)
	s.mu.Unlock()
	return ok && s.now().Before(e.expires) && e.b == b
}
