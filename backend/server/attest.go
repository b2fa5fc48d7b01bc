package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/dpop"
	"github.com/scanfree/scanfree/internal/secret"
	"github.com/scanfree/scanfree/internal/tpmkey"
)

// challengeTTL is how long a desktop has to open a credential challenge.
const challengeTTL = 2 * time.Minute

// handleKeyAttest records a desktop's proof key as held by a TPM once the
// desktop shows it by credential activation: the key's public area says
// it cannot leave its TPM, the endorsement key certificate was issued by
// a TPM maker this server trusts (Config.TPMEKRoots), and the secret the
// challenge was encrypted to that endorsement key for that key's name
// comes back. The challenge's secret is a MAC of what it binds, so any
// replica checks the answer and none remembers challenges.
func (s *Server) handleKeyAttest(w http.ResponseWriter, r *http.Request, d storage.Device) {
	var req deviceapi.KeyAttestation
	if err := decodeJSON(w, r, &req); err != nil {
		writeDeviceErr(w, apiErr(errBackendRefused, err.Error()))
		return
	}
	if s.cfg.TPMEKRoots == nil {
		writeDeviceErr(w, apiErr(errBackendRefused, "this server checks no TPM keys (it was started without --tpm-ek-roots); this desktop's key is recorded as software"))
		return
	}
	pub, name, err := tpmkey.ParsePublicArea(req.PublicArea)
	if err != nil {
		writeDeviceErr(w, apiErr(errBackendRefused, err.Error()))
		return
	}
	if jkt, err := dpop.Thumbprint(&jose.JSONWebKey{Key: pub}); err != nil || jkt != d.KeyThumbprint {
		writeDeviceErr(w, apiErr(errBackendRefused, "that TPM key is not the key this desktop proves its calls with"))
		return
	}
	ek, err := s.cfg.TPMEKRoots.VerifyEK(req.EKCert)
	if err != nil {
		s.log.WarnContext(r.Context(), "a desktop's TPM endorsement certificate was refused", "device", d.ID, "err", err)
		writeDeviceErr(w, apiErr(errBackendRefused, err.Error()+"; this server does not trust that TPM's maker (see --tpm-ek-roots)"))
		return
	}
	now := s.now()
	if req.Secret == nil {
		expires := now.Add(challengeTTL).Unix()
		want, err := s.attestSecret(r, d, name, req.EKCert, expires)
		if err != nil {
			s.internalError(w, r, "key attestation", err)
			return
		}
		ch, err := tpmkey.MakeChallenge(rand.Reader, ek, name, want)
		if err != nil {
			writeDeviceErr(w, apiErr(errBackendRefused, err.Error()))
			return
		}
		writeJSON(w, http.StatusOK, deviceapi.KeyChallenge{IDObject: ch.IDObject, EncSecret: ch.EncSecret,
			EK: string(ch.EK), EKRSA: ch.EK == tpmkey.EKRSA2048, Expires: expires})
		return
	}
	want, err := s.attestSecret(r, d, name, req.EKCert, req.Expires)
	if err != nil {
		s.internalError(w, r, "key attestation", err)
		return
	}
	if now.Unix() > req.Expires || req.Expires > now.Add(challengeTTL).Unix() || !hmac.Equal(want, req.Secret) {
		s.log.WarnContext(r.Context(), "a desktop failed credential activation", "device", d.ID, "addr", s.clientIP(r))
		writeDeviceErr(w, apiErr(errBackendRefused, "the TPM did not open the challenge (or it expired): this key is not in that TPM; it stays recorded as software"))
		return
	}
	if err := s.store.SetDeviceKeyProtection(r.Context(), d.ID, d.KeyThumbprint, "tpm"); err != nil {
		s.internalError(w, r, "key attestation", err)
		return
	}
	if d.KeyProtection != "tpm" {
		s.signin.Event(r.Context(), storage.Event{UserID: d.UserID, Kind: "device_key_attested", DeviceID: d.ID,
			Detail: d.Name + ": its key is held by a TPM whose maker this server trusts"})
	}
	writeJSON(w, http.StatusOK, deviceapi.KeyAttested{KeyProtection: "tpm"})
}

// attestSecret is the secret of a credential challenge: a MAC, under the
// server's key, of the device, its key's name, the EK certificate and
// the expiry, so an answer counts only for what the challenge was made for.
func (s *Server) attestSecret(r *http.Request, d storage.Device, name, ekCert []byte, expires int64) ([]byte, error) {
	k, err := s.signin.Key(r.Context())
	if err != nil {
		return nil, err
	}
	ekSum := sha256.Sum256(ekCert)
	return secret.MAC(k, "tpm-activate", d.ID, d.KeyThumbprint, hex.EncodeToString(name), hex.EncodeToString(ekSum[:]), strconv.FormatInt(expires, 10)), nil
}
