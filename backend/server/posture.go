package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/dpop"
	"github.com/scanfree/scanfree/internal/posture"
)

// postureSkew is how far a report's time may be from the server's.
const postureSkew = 10 * time.Minute

// handleDevicePosture keeps a desktop's posture report, signed by the key
// its credential is bound to; the apps' device policies are checked
// against the latest (signin.Posture).
func (s *Server) handleDevicePosture(w http.ResponseWriter, r *http.Request, d storage.Device) {
	var req deviceapi.PostureReport
	if err := decodeJSON(w, r, &req); err != nil {
		writeDeviceErr(w, apiErr(errBackendRefused, err.Error()))
		return
	}
	if d.KeyThumbprint == "" {
		writeDeviceErr(w, apiErr(errBackendRefused, "a posture report is signed by the desktop's key, and this desktop proves none yet"))
		return
	}
	payload, err := dpop.VerifyStatement(req.Report, deviceapi.PostureType, d.KeyThumbprint)
	if err != nil {
		writeDeviceErr(w, apiErr(errBackendRefused, "posture report: "+err.Error()))
		return
	}
	rep, msg := readPosture(payload, s.now())
	if msg != "" {
		writeDeviceErr(w, apiErr(errBackendRefused, "posture report: "+msg))
		return
	}
	b, _ := json.Marshal(rep)
	if err := s.store.SetDevicePosture(r.Context(), d.ID, string(b)); err != nil {
		s.internalError(w, r, "device posture", err)
		return
	}
	writeJSON(w, http.StatusOK, deviceapi.Error{})
}

// readPosture decodes and bounds a report; msg says what is wrong.
func readPosture(payload []byte, now time.Time) (posture.Report, string) {
	var rep posture.Report
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		return rep, "not a posture report: " + err.Error()
	}
	switch {
	case rep.At.Before(now.Add(-postureSkew)) || rep.At.After(now.Add(postureSkew)):
		return rep, "dated " + rep.At.Format(time.RFC3339) + "; check this computer's clock"
	case rep.OS == "" || len(rep.OS) > 16 || len(rep.OSVersion) > 64 || len(rep.OSName) > 128:
		return rep, "OS missing or too long"
	}
	for _, sig := range []posture.Signal{rep.DiskEncryption, rep.ScreenLock, rep.SecureBoot} {
		if (sig.Value != posture.Yes && sig.Value != posture.No && sig.Value != posture.Unknown) || len(sig.How) > 256 {
			return rep, "a signal is not yes, no or unknown, or says too much"
		}
	}
	return rep, ""
}
