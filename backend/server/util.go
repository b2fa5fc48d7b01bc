package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // redirect_url keeps its "&" as the seeds show it
	enc.Encode(v)
}

// maxJSONBody caps the JSON bodies the API accepts.
const maxJSONBody = 16 << 10

// decodeJSON strictly decodes one JSON object from r's body into v: a
// JSON content type, at most maxJSONBody bytes, no unknown fields, nothing
// after the object.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	if !strings.EqualFold(strings.TrimSpace(ct), "application/json") {
		return errors.New("Content-Type must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("body larger than %d bytes", maxJSONBody)
		}
		return fmt.Errorf("malformed JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("malformed JSON: data after the object")
	}
	return nil
}

// attemptLimiter counts failures per key in a fixed window: after max
// failures the key is refused until the window that began with its first
// failure ends. It guards password and user_code guessing, where the
// budget must not refill while an attacker keeps trying.
type attemptLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu sync.Mutex
	m  map[string]*attempts
}

type attempts struct {
	n     int
	start time.Time
}

func newAttemptLimiter(max int, window time.Duration, now func() time.Time) *attemptLimiter {
	return &attemptLimiter{max: max, window: window, now: now, m: map[string]*attempts{}}
}

// Allowed reports whether key may try again.
func (l *attemptLimiter) Allowed(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.allowedLocked(key)
}

func (l *attemptLimiter) allowedLocked(key string) bool {
	a := l.m[key]
	if a == nil {
		return true
	}
	if l.now().Sub(a.start) >= l.window {
		delete(l.m, key)
		return true
	}
	return a.n < l.max
}

// Fail records a failed try of key.
func (l *attemptLimiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.countLocked(key)
}

func (l *attemptLimiter) countLocked(key string) {
	now := l.now()
	if len(l.m) > 100_000 {
		// Bound memory under a spray of keys: forget expired windows.
		for k, a := range l.m {
			if now.Sub(a.start) >= l.window {
				delete(l.m, k)
			}
		}
	}
	a := l.m[key]
	if a == nil || now.Sub(a.start) >= l.window {
		a = &attempts{start: now}
		l.m[key] = a
	}
	a.n++
}

// Take counts one try of key and reports whether it was within the
// budget: a plain per-key rate limit in the same fixed windows. Check and
// count happen under one lock, so concurrent callers cannot overshoot.
func (l *attemptLimiter) Take(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.allowedLocked(key) {
		return false
	}
	l.countLocked(key)
	return true
}

// Reset forgets key's failures, after a success.
func (l *attemptLimiter) Reset(key string) {
	l.mu.Lock()
	delete(l.m, key)
	l.mu.Unlock()
}
