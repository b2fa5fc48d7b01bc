package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-tpm/tpm2/transport"

	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/dpop"
	"github.com/scanfree/scanfree/internal/ncryptkey"
	"github.com/scanfree/scanfree/internal/posture"
	"github.com/scanfree/scanfree/internal/tpmkey"
)

// proofKey returns the desktop's proof key, loading it on first use, or
// making it when there is none: in the TPM when one is usable (see
// Config.TPM), else in software, owner-only, in the state directory. A
// desktop keeps the kind of key it was bound with: a key file of either
// kind is used as it is. nil when the client was configured without one.
func (c *Client) proofKey() (*dpop.Key, error) {
	if c.cfg.KeyFile == "" {
		return nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.key != nil {
		return c.key, nil
	}
	var k *dpop.Key
	var err error
	switch tpmFile := c.tpmKeyFile(); {
	case tpmkey.Exists(tpmFile):
		k, err = c.tpmKey(tpmFile, tpmkey.Load)
	case ncryptkey.Exists(c.platformKeyFile()):
		k, err = c.platformKey(ncryptkey.Load)
	case tpmkey.Exists(c.cfg.KeyFile) || c.InKeychain() || c.cfg.TPM == TPMOff:
		k, err = c.softKey()
	case c.cfg.TPM == "" && ncryptkey.Supported():
		// Windows: the TPM through the Platform Crypto Provider; a
		// computer without one (or Wine) signs in with a software key.
		if k, err = c.platformKey(ncryptkey.Create); err != nil {
			c.tpmSkipped = err
			k, err = c.softKey()
		}
	case c.cfg.TPM == "" && !tpmkey.Exists(tpmkey.DefaultDevice):
		k, err = c.softKey() // no TPM here (macOS): software
	default:
		k, err = c.tpmKey(tpmFile, tpmkey.Create)
		if err != nil && c.cfg.TPM == "" {
			// A TPM this user may not open (Linux gives /dev/tpmrm0 to
			// the tss group) is no reason to refuse to sign in.
			c.tpmSkipped = err
			k, err = c.softKey()
		}
	}
	c.keyErr = err
	if err != nil {
		return nil, err
	}
	c.key = k
	return k, nil
}

// KeyProblem is why the proof key could not be loaded last time, or nil.
func (c *Client) KeyProblem() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keyErr
}

// TPMSkipped is why a new key was made in software although this
// computer has a TPM, or nil.
func (c *Client) TPMSkipped() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tpmSkipped
}

// TPMOff in Config.TPM keeps the proof key in software.
const TPMOff = "off"

// tpmKeyFile is where the blob of a TPM-held key lives, beside KeyFile.
func (c *Client) tpmKeyFile() string {
	return strings.TrimSuffix(c.cfg.KeyFile, filepath.Ext(c.cfg.KeyFile)) + ".tpm"
}

// tpmKey opens the TPM and loads (or makes) the key of blob file path.
func (c *Client) tpmKey(path string, get func(transport.TPMCloser, string) (*tpmkey.Key, error)) (*dpop.Key, error) {
	addr := c.cfg.TPM
	if addr == "" || addr == TPMOff { // a key made in the TPM before tpm: off stays there
		addr = tpmkey.DefaultDevice
	}
	t, err := tpmkey.Open(addr)
	if err != nil {
		return nil, fmt.Errorf("%w; set tpm: off in config.yaml to keep the key in software", err)
	}
	tk, err := get(t, path)
	if errors.Is(err, tpmkey.ErrOtherTPM) {
		t.Close()
		return nil, fmt.Errorf("%w: this desktop's key cannot be used on this computer (was its state directory copied?); run `scanfreed login` to sign this computer in as itself", err)
	}
	if err != nil {
		t.Close()
		return nil, err
	}
	k, err := dpop.FromSigner(tk, "tpm")
	if err != nil {
		tk.Close()
		return nil, err
	}
	c.tpm = tk
	return k, nil
}

// platformKeyFile is where the name of a key held by Windows' Platform
// Crypto Provider is kept, beside KeyFile.
func (c *Client) platformKeyFile() string {
	return strings.TrimSuffix(c.cfg.KeyFile, filepath.Ext(c.cfg.KeyFile)) + ".ncrypt"
}

// platformKey loads (or makes) the Platform Crypto Provider's key.
func (c *Client) platformKey(get func(string) (*ncryptkey.Key, error)) (*dpop.Key, error) {
	pk, err := get(c.platformKeyFile())
	if err != nil {
		return nil, fmt.Errorf("%w; set tpm: off in config.yaml to keep the key in software", err)
	}
	k, err := dpop.FromSigner(pk, "platform")
	if err != nil {
		pk.Close()
		return nil, err
	}
	c.platform = pk
	return k, nil
}

// dropUnusableKey deletes a TPM key blob that this computer's TPM cannot
// load (or the name of a platform key this computer's provider does not
// hold), before a new enrolment: the new credential is bound to a new key
// made here, and the person approves it as a new desktop.
func (c *Client) dropUnusableKey() {
	switch _, err := c.proofKey(); {
	case errors.Is(err, tpmkey.ErrOtherTPM):
		os.Remove(c.tpmKeyFile())
	case err != nil && ncryptkey.Exists(c.platformKeyFile()):
		os.Remove(c.platformKeyFile())
	case err != nil && c.InKeychain():
		c.dropKeychainKey() // gone from the keychain, or a copied state dir's mark
	default:
		return
	}
	c.mu.Lock()
	c.keyErr = nil
	c.mu.Unlock()
}

// dropKey deletes the proof key once its credential is gone: the next
// sign-in makes a new one where it is best kept now (a TPM the user may
// open since).
func (c *Client) dropKey() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tpm != nil {
		c.tpm.Close()
	}
	if c.platform != nil {
		c.platform.Close()
	}
	c.key, c.tpm, c.platform, c.keyErr, c.tpmSkipped, c.keychainSkipped = nil, nil, nil, nil, nil, nil
	if c.cfg.KeyFile != "" {
		os.Remove(c.cfg.KeyFile)
		os.Remove(c.tpmKeyFile())
		c.dropKeychainKey()
		if ncryptkey.Exists(c.platformKeyFile()) && ncryptkey.Delete(c.platformKeyFile()) != nil {
			os.Remove(c.platformKeyFile()) // the key is gone or unreachable: forget its name
		}
	}
}

// KeyProtection says where the desktop's proof key lives ("tpm",
// "platform" or "software"), "" when it has none yet.
func (c *Client) KeyProtection() string {
	c.mu.Lock()
	k := c.key
	c.mu.Unlock()
	switch {
	case k != nil:
		return k.Protection()
	case c.cfg.KeyFile == "":
		return ""
	case tpmkey.Exists(c.tpmKeyFile()):
		return "tpm"
	case ncryptkey.Exists(c.platformKeyFile()):
		return "platform"
	case tpmkey.Exists(c.cfg.KeyFile) || c.InKeychain():
		return "software"
	}
	return ""
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

// AttestKey shows the backend that the desktop's proof key is held by a
// TPM, by credential activation (deviceapi.KeyAttestation), and returns
// where the backend now records the key. A key in Windows' Platform
// Crypto Provider is shown through the TPM under it. A software key has
// nothing to show: it returns "software" and asks nothing.
func (c *Client) AttestKey(ctx context.Context) (string, error) {
	if _, err := c.proofKey(); err != nil {
		return "", err
	}
	c.mu.Lock()
	inTPM, inPlatform := c.tpm, c.platform
	c.mu.Unlock()
	var tk tpmkey.Attestor
	switch {
	case inTPM != nil:
		tk = inTPM
	case inPlatform != nil:
		a, done, err := inPlatform.Attestor()
		if err != nil {
			return "", err
		}
		defer done()
		tk = a
	default:
		return "software", nil
	}
	ek, err := tk.EKCertificate()
	if err != nil {
		return "", err
	}
	req := deviceapi.KeyAttestation{PublicArea: tk.PublicArea(), EKCert: ek}
	var ch deviceapi.KeyChallenge
	if err := c.do(ctx, "POST", deviceapi.PathKeyAttest, req, &ch); err != nil {
		return "", fmt.Errorf("show the backend this desktop's TPM key: %w", err)
	}
	which := tpmkey.EK(ch.EK)
	switch { // a backend from before EK was sent knows only RSA and P-256 EKs
	case which != "":
	case ch.EKRSA:
		which = tpmkey.EKRSA2048
	default:
		which = tpmkey.EKP256
	}
	if req.Secret, err = tk.Activate(ch.IDObject, ch.EncSecret, which); err != nil {
		return "", err
	}
	req.Expires = ch.Expires
	var out deviceapi.KeyAttested
	if err := c.do(ctx, "POST", deviceapi.PathKeyAttest, req, &out); err != nil {
		return "", fmt.Errorf("show the backend this desktop's TPM key: %w", err)
	}
	c.mu.Lock()
	c.profile = nil // it carries the key's protection
	c.mu.Unlock()
	return out.KeyProtection, nil
}

// postureEvery is how often a desktop in use tells the backend its
// posture; the backend takes a report for signin.PostureMaxAge.
const postureEvery = 10 * time.Minute

// reportPosture reads this computer's posture and sends it, signed by
// the proof key, when the last report is older than postureEvery. It
// runs before the profile is fetched, so an app's device policy is
// checked against a fresh report. A desktop without a key sends none.
func (c *Client) reportPosture(ctx context.Context) {
	c.mu.Lock()
	due := time.Since(c.postureAt) >= postureEvery
	if due {
		c.postureAt = time.Now() // one report at a time; a failure waits its turn too
	}
	c.mu.Unlock()
	if !due {
		return
	}
	err := c.sendPosture(ctx)
	c.mu.Lock()
	c.postureErr = err
	c.mu.Unlock()
}

func (c *Client) sendPosture(ctx context.Context) error {
	k, err := c.proofKey()
	if err != nil || k == nil {
		return err
	}
	r := posture.Read(ctx)
	c.mu.Lock()
	c.posture = &r
	c.mu.Unlock()
	b, _ := json.Marshal(r)
	signed, err := k.Sign(deviceapi.PostureType, b)
	if err != nil {
		return err
	}
	if err := c.do(ctx, "POST", deviceapi.PathPosture, deviceapi.PostureReport{Report: signed}, nil); err != nil {
		return fmt.Errorf("report this computer's posture: %w", err)
	}
	return nil
}

// Posture is the last posture this desktop read, and why the last report
// failed (nil when it went through); nil before the first.
func (c *Client) Posture() (*posture.Report, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.posture, c.postureErr
}
