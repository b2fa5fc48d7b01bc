package signin

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/posture"
)

// PostureMaxAge is how long a desktop's posture report counts: a daemon
// in use reports every 10 minutes, so an older one is a desktop that
// stopped reporting (or an old scanfreed), and says nothing.
const PostureMaxAge = time.Hour

// The acr values of an OpenID Connect sign-in, given in the id_token
// only when the relying party asked for acr_values: it was confirmed on a
// desktop whose key the backend verified to be in its TPM, on one whose
// key is in software, or neither (a phone, a password: OIDC Core's "0").
const (
	ACRKeyTPM      = "urn:scanfree:acr:key:tpm"
	ACRKeySoftware = "urn:scanfree:acr:key:software"
	ACRNone        = "0"
)

// acrOf is the acr of a sign-in confirmed through desktop d (nil: none).
func acrOf(d *storage.Device) string {
	switch {
	case d == nil || d.KeyThumbprint == "":
		return ACRNone
	case d.KeyProtection == "tpm":
		return ACRKeyTPM
	}
	return ACRKeySoftware
}

// amrOf is how's amr, where a desktop d whose key is in its TPM (as the
// backend verified) proves a hardware-held key ("hwk") rather than a
// software one ("swk").
func amrOf(how How, d *storage.Device) []string {
	amr := how.AMR()
	if d == nil || d.KeyProtection != "tpm" {
		return amr
	}
	out := make([]string, 0, len(amr))
	for _, m := range amr {
		if m == "swk" {
			m = "hwk"
		}
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// keyRank orders key protections by what a copy of the desktop's files
// could do: nothing for a key in hardware.
var keyRank = map[string]int{"": 0, "software": 1, "platform": 2, "tpm": 2}

var keyWords = map[string]string{"": "a bare credential", "software": "a key kept in software", "platform": "a key in the system's key store", "tpm": "a key in its TPM"}

// Posture is d's latest posture report, and whether it counts at now.
func Posture(d storage.Device, now time.Time) (posture.Report, bool) {
	var r posture.Report
	if d.Posture == "" || json.Unmarshal([]byte(d.Posture), &r) != nil {
		return r, false
	}
	return r, now.Sub(r.At) <= PostureMaxAge && r.At.Sub(now) <= 5*time.Minute
}

// deviceFits refuses a sign-in to app through desktop d when d falls
// short of the app's device policy, saying what to fix on this computer.
// Whatever the desktop cannot show (an old or missing report, a signal it
// could not read) falls short: a policy fails closed.
func (s *Service) deviceFits(app storage.App, d storage.Device) error {
	p := app.Fence.Device
	if p.IsZero() {
		return nil
	}
	if keyRank[d.KeyProtection] < keyRank[p.RequireKey] || (p.RequireKey == "tpm" && d.KeyProtection != "tpm") {
		want := map[string]string{"software": "a proven key", "platform": "a key held by its TPM or the system's key store", "tpm": "a key held by its TPM"}[p.RequireKey]
		return refuse(DeviceShort, "%s needs this computer to sign in with %s; it signs in with %s (ask your administrator, or use the QR code)",
			app.Name, want, keyWords[d.KeyProtection])
	}
	if !p.RequireDiskEncryption && len(p.MinOS) == 0 {
		return nil
	}
	r, fresh := Posture(d, s.cfg.Now())
	if !fresh {
		return refuse(DeviceShort, "%s needs to know this computer's state, and it has not reported it lately; update and restart scanfree, or use the QR code", app.Name)
	}
	if p.RequireDiskEncryption && r.DiskEncryption.Value != posture.Yes {
		if r.DiskEncryption.Value == posture.No {
			return refuse(DeviceShort, "%s needs an encrypted disk on this computer (%s); encrypt it, or use the QR code", app.Name, r.DiskEncryption.How)
		}
		return refuse(DeviceShort, "%s needs an encrypted disk on this computer, and this computer could not tell whether it has one (%s); use the QR code", app.Name, r.DiskEncryption.How)
	}
	if min, ok := p.MinOS[r.OS]; ok {
		if atLeast, known := posture.AtLeast(r.OSVersion, min); !atLeast {
			if !known {
				return refuse(DeviceShort, "%s needs %s %s or newer on this computer, which did not say its version; use the QR code", app.Name, osName(r.OS), min)
			}
			return refuse(DeviceShort, "%s needs %s %s or newer on this computer, which runs %s; update it, or use the QR code", app.Name, osName(r.OS), min, r.OSVersion)
		}
	}
	return nil
}

func osName(goos string) string {
	switch goos {
	case "darwin":
		return "macOS"
	case "windows":
		return "Windows"
	case "linux":
		return "Linux"
	}
	return goos
}

// CheckDevice refuses a sign-in to app through desktop d, from addr,
// when d falls short of the app's device policy, and logs the refusal
// with the signal that failed, as Mint does. The device API asks it when
// the daemon looks an app up, so that the hosted page says what to fix
// instead of offering "Continue as …".
func (s *Service) CheckDevice(ctx context.Context, app storage.App, d storage.Device, addr string) error {
	err := s.deviceFits(app, d)
	if err != nil {
		s.refused(ctx, storage.Event{UserID: d.UserID, AppID: app.AppID, DeviceID: d.ID, Method: storage.MethodScanFree,
			Face: storage.FaceWeChat.String(), Addr: addr, Country: s.cfg.Country(addr)}, err)
	}
	return err
}

// DeviceShortfalls are the refusals desktop d would meet at apps (the
// ones its person signed in to), for the desktop to warn her before she
// tries; nothing is logged.
func (s *Service) DeviceShortfalls(d storage.Device, apps []storage.App) []string {
	var out []string
	for _, app := range apps {
		if !app.Active() {
			continue
		}
		if err := s.deviceFits(app, d); err != nil {
			out = append(out, err.Error())
		}
	}
	return out
}

// postureNote is what a sign-in's log line says of the desktop it came
// through.
func postureNote(d storage.Device, now time.Time) string {
	r, fresh := Posture(d, now)
	if !fresh {
		return ""
	}
	return " (desktop: " + strings.TrimSpace(r.Summary()) + fmt.Sprintf("; key %s)", cmp.Or(d.KeyProtection, "none"))
}
