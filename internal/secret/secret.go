// Package secret makes and checks the backend's secrets: random tokens and
// codes, their SHA-256 lookup hashes, argon2id password hashes and RFC 8628
// user codes.
package secret

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Token returns a fresh random token of 256 bits, URL-safe.
func Token() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics on failure since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Code returns a fresh random code of 192 bits in 32 URL-safe characters,
// the length of a WeChat authorization code.
func Code() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hash is the SHA-256 lookup hash under which a high-entropy secret is stored.
// Such secrets need no slow hash: guessing one is as hard as guessing the hash.
func Hash(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// Equal reports whether a and b are equal and not empty, in constant
// time. Two empty values are not equal: a secret that failed to load, or a
// record without a hash, must never match an empty guess (fail closed).
func Equal(a, b []byte) bool {
	return len(a) != 0 && len(b) != 0 && subtle.ConstantTimeCompare(a, b) == 1
}

// MAC returns HMAC-SHA256 of the parts, joined by NUL, under key.
func MAC(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return m.Sum(nil)
}

// Argon2id parameters: OWASP's minimum (19 MiB, 2 passes, 1 lane), which
// keeps a login under ~50 ms on one core of a small server.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns the argon2id hash of password in PHC string format.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// ErrBadHash reports a stored password hash this package cannot read.
var ErrBadHash = errors.New("malformed argon2id hash")

// CheckPassword reports whether password matches the PHC-format argon2id hash.
func CheckPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrBadHash
	}
	var version int
	var mem, iter uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iter, &threads); err != nil || mem == 0 || iter == 0 || threads == 0 || mem > 1<<21 {
		return false, ErrBadHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, ErrBadHash
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false, ErrBadHash
	}
	got := argon2.IDKey([]byte(password), salt, iter, mem, threads, uint32(len(want)))
	return Equal(got, want), nil
}

// userCodeAlphabet has no vowels (no words), no digits and none of the
// letters people confuse (RFC 8628 section 6.1).
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// UserCodeLen is the number of characters of a user code.
const UserCodeLen = 8

// UserCode returns a fresh user code of UserCodeLen characters (34.6 bits).
func UserCode() string {
	b := make([]byte, UserCodeLen)
	for i := range b {
		b[i] = userCodeAlphabet[randIntn(len(userCodeAlphabet))]
	}
	return string(b)
}

func randIntn(n int) int {
	// Rejection sampling keeps the distribution uniform.
	limit := 256 - 256%n
	var one [1]byte
	for {
		rand.Read(one[:])
		if int(one[0]) < limit {
			return int(one[0]) % n
		}
	}
}

// NormalizeUserCode uppercases a typed user code and drops separators and
// spaces. It reports false when the result cannot be a user code, so a typo
// costs no lookup.
func NormalizeUserCode(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case strings.ContainsRune(userCodeAlphabet, r):
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != UserCodeLen {
		return "", false
	}
	return b.String(), true
}

// FormatUserCode shows a normalized user code as XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != UserCodeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}
