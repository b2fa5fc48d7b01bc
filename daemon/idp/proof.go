package idp

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/scanfree/scanfree/internal/dpop"
)

// proofKey returns the desktop's proof key, loading it (or creating it,
// owner-only, in the state directory) on first use; nil when the client
// was configured without one.
func (c *Client) proofKey() (*dpop.Key, error) {
	if c.cfg.KeyFile == "" {
		return nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.key == nil {
		k, err := dpop.LoadOrCreate(c.cfg.KeyFile)
		if err != nil {
			return nil, err
		}
		c.key = k
	}
	return c.key, nil
}

// KeyProtection says where the desktop's proof key lives ("software"),
// "" when it has none yet.
func (c *Client) KeyProtection() string {
	c.mu.Lock()
	k := c.key
	c.mu.Unlock()
	if k == nil && c.cfg.KeyFile != "" {
		if _, err := os.Stat(c.cfg.KeyFile); err == nil {
			return "software"
		}
	}
	if k == nil {
		return ""
	}
	return k.Protection()
}

// prove adds a DPoP proof for req to it, for accessToken ("" on the token
// request), signed with the backend's latest nonce. It reports whether it
// did (false without a key).
func (c *Client) prove(req *http.Request, accessToken string) (bool, error) {
	k, err := c.proofKey()
	if err != nil || k == nil {
		return false, err
	}
	c.mu.Lock()
	nonce := c.nonce
	c.mu.Unlock()
	p, err := k.Proof(req.Method, req.URL.String(), accessToken, nonce, time.Now())
	if err != nil {
		return false, err
	}
	req.Header.Set(dpop.Header, p)
	return true, nil
}

// keepNonce remembers the nonce an answer of the backend carries.
func (c *Client) keepNonce(resp *http.Response) {
	if n := resp.Header.Get(dpop.NonceHeader); n != "" {
		c.mu.Lock()
		c.nonce = n
		c.mu.Unlock()
	}
}

// proofChallenge tells apart the backend's 401s about a proof: "nonce"
// when it asks for one signed with its new nonce (sign again), "invalid"
// when it refused the proof (a clock far off makes stale proofs: that
// must not sign the desktop out), "" when the credential itself was
// refused.
func proofChallenge(resp *http.Response) string {
	a := resp.Header.Get("WWW-Authenticate")
	switch {
	case !strings.HasPrefix(a, dpop.Scheme+" "):
		return ""
	case strings.Contains(a, `error="use_dpop_nonce"`):
		return "nonce"
	case strings.Contains(a, `error="invalid_dpop_proof"`):
		return "invalid"
	}
	return ""
}

// errProofRefused reports a proof the backend refused.
func errProofRefused(msg string) error {
	return fmt.Errorf("%w: the backend refused this desktop's proof of its key (%s); check this computer's clock", ErrUnreachable, msg)
}
