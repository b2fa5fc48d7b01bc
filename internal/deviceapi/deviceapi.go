// Package deviceapi is the contract between scanfree-server (the identity
// backend) and scanfreed (the desktop daemon): the routes and wire types of
// the device API and of RFC 8628 enrolment, the errcodes both sides speak
// (the daemon's local API passes them on to the hosted page), and the
// defaults both sides must agree on, such as the daemon's domain and ports.
//
// Both sides import this package and neither defines these again, so a
// change to the contract is one change.
package deviceapi

import (
	"net"
	"strings"
	"time"
)

// Limits on what a sign-in request carries, the same on both sides: the
// daemon refuses longer values before it asks the backend, and the
// backend refuses them wherever a request comes from.
const (
	MaxAppIDLen       = 64   // an appid
	MaxScopeLen       = 128  // a scope
	MaxStateLen       = 128  // WeChat's limit on state
	MaxRedirectURILen = 2048 // stored with every code and ticket; no real callback needs more
)

// DefaultDomain is the loopback domain the hosted page calls the daemon at.
const DefaultDomain = "scanfree.localhost"

// DefaultPorts returns the daemon's ports in the order the hosted page
// tries them: the daemon takes the first free one.
func DefaultPorts() []int { return []int{14013, 14014, 14015, 13013, 13014, 13015} }

// ClientID is the desktop's OAuth client id, the only client allowed to
// enrol devices.
const ClientID = "scanfree-desktop"

// GrantTypeDeviceCode is the RFC 8628 grant type.
const GrantTypeDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// Routes of the backend. Device-API routes take the device credential as a
// Bearer token.
const (
	PathDeviceAuthorization = "/oauth2/device_authorization" // POST form: client_id, device_name, os
	PathToken               = "/oauth2/token"                // POST form: grant_type, client_id, device_code
	PathMe                  = "/api/v1/device/me"            // GET → Me
	PathApps                = "/api/v1/apps/"                // GET PathApps+appid → App
	PathCheck               = "/api/v1/device/check"         // POST SignInRequest → App, before the dialog
	PathAuthorize           = "/api/v1/device/authorize"     // POST SignInRequest → AuthorizeResponse
	PathDevice              = "/api/v1/device"               // DELETE: sign this device out
	PathWatch               = "/api/v1/device/watch"         // GET, held up to WatchHold: 401 the moment this device is signed out, else Error{0}
	PathQR                  = "/api/v1/device/qr/"           // POST PathQR+uuid+"/confirm"|"/cancel" → QRAnswer
	PathDeclined            = "/api/v1/device/declined"      // POST Declined → Error{0}, after the dialog
	PathKeyAttest           = "/api/v1/device/key/attest"    // POST KeyAttestation → KeyChallenge; again with its answer → KeyAttested
	PathPosture             = "/api/v1/device/posture"       // POST PostureReport → Error{0}
)

// WatchHold is how long the backend holds a desktop's PathWatch poll; a
// desktop asks again at once, so it learns of its sign-out within about a
// second wherever it was done.
const WatchHold = 25 * time.Second

// Errcodes of the device API and of the daemon's local API (DESIGN.md,
// "Local API"). Failures of the device API answer Error with one of them.
const (
	CodeOK          = 0
	CodeTimeout     = 10046  // the confirmation timed out (seed value)
	CodeDenied      = 10050  // the user denied (seed value)
	CodeQROnly      = 10057  // the app allows QR login only (seed value)
	CodeSignedOut   = 10060  // desktop not signed in, credential unknown or revoked
	CodeLocked      = 10061  // screen locked or paused by the user
	CodeBusy        = 10062  // another confirmation is pending
	CodeUnreachable = 10063  // the backend cannot be reached
	CodeBadUUID     = 10064  // authorize_uuid unknown, expired, used or for another request
	CodeMalformed   = 10065  // malformed request
	CodeRateLimited = 10066  // rate limited, or cooldown after a deny
	CodeRefused     = 10067  // the backend refused: unknown appid, bad redirect_uri, scope or state; errmsg says which
	CodeInvalidAPI  = -11028 // invalid apiname (seed value)
	CodeSystem      = -1     // the backend failed; retry later
)

// Error is the answer of a failed device-API request.
type Error struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// WatchAnswer is PathWatch's answer when the hold ended or alerts came:
// Alerts are the person's alerts raised since the watch's since (Unix
// ms, the previous answer's Next; none: since the watch began), and Next
// is what to pass as since next time.
type WatchAnswer struct {
	ErrCode int      `json:"errcode"`
	ErrMsg  string   `json:"errmsg"`
	Alerts  []string `json:"alerts,omitempty"`
	Next    int64    `json:"next"`
}

// Me is the signed-in account of a device (GET PathMe).
type Me struct {
	DeviceID   string `json:"device_id"`
	DeviceName string `json:"device_name"`
	OS         string `json:"os"`
	Username   string `json:"username"`
	Nickname   string `json:"nickname"`
	HeadImgURL string `json:"headimgurl"`
	// Desktops are the account's other enrolled desktops, so that each
	// can tell the person when a new one appears (a desktop someone
	// tricked them into approving).
	Desktops []Desktop `json:"desktops,omitempty"`
	// KeyProtection is where the backend knows this desktop's proof key
	// to live: "tpm" once the desktop showed it (KeyAttestation), else
	// "software" ("" for a desktop that proves no key).
	KeyProtection string `json:"key_protection,omitempty"`
	// PolicyWarnings are what the device policies of apps the person
	// signed in to would refuse this desktop for, each saying what to fix.
	PolicyWarnings []string `json:"policy_warnings,omitempty"`
}

// KeyAttestation shows the backend that a desktop's proof key is held by
// a TPM (credential activation): the key's TPM public area and the TPM's
// endorsement key certificate. The backend answers with a KeyChallenge
// that only that TPM can open while it holds the key; the desktop sends
// the same request again with the challenge's Expires and the Secret it
// opened, and the backend records the key as "tpm".
type KeyAttestation struct {
	PublicArea []byte `json:"public_area"`
	EKCert     []byte `json:"ek_cert"`
	Expires    int64  `json:"expires,omitempty"`
	Secret     []byte `json:"secret,omitempty"`
}

// KeyChallenge is TPM2_MakeCredential's output for the desktop's key and
// endorsement key EK (tpmkey.EK: "rsa2048", "ecc-p256" or "ecc-p384"),
// good until Expires (Unix s). EKRSA is EK == "rsa2048", for desktops
// from before EK was sent, which know only the RSA and P-256 ones.
type KeyChallenge struct {
	IDObject  []byte `json:"id_object"`
	EncSecret []byte `json:"enc_secret"`
	EK        string `json:"ek"`
	EKRSA     bool   `json:"ek_rsa"`
	Expires   int64  `json:"expires"`
}

// PostureReport is a desktop's posture (JSON of posture.Report), signed
// by its proof key as a compact JWS of type PostureType (dpop.Key.Sign),
// so that it is the desktop's own word and nothing a copied credential
// could say.
type PostureReport struct {
	Report string `json:"report"`
}

// PostureType is a posture report's JWS type.
const PostureType = "posture+jwt"

// KeyAttested is the answer to a KeyAttestation's second request.
type KeyAttested struct {
	KeyProtection string `json:"key_protection"`
}

// Desktop is one enrolled desktop of the account.
type Desktop struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	OS         string    `json:"os"`
	EnrolledAt time.Time `json:"enrolled_at"`
}

// App is the public view of a relying party.
type App struct {
	AppID     string `json:"appid"`
	Name      string `json:"name"`
	Icon      string `json:"icon"`
	FastLogin bool   `json:"fast_login"`
}

// SignInRequest asks the backend to check (PathCheck) or to mint a code
// for (PathAuthorize) one sign-in.
type SignInRequest struct {
	AppID       string `json:"appid"`
	Scope       string `json:"scope"`
	RedirectURI string `json:"redirect_uri"`
	State       string `json:"state"`
	Origin      string `json:"origin"` // the page that asked the daemon; recorded in the audit log
}

// AuthorizeResponse is PathAuthorize's answer on success.
type AuthorizeResponse struct {
	RedirectURL string `json:"redirect_url"`
}

// Declined tells the backend that the person did not confirm Request in
// the desktop's dialog: she denied it (OutcomeDenied) or let it time out
// (OutcomeTimeout). The backend never saw that sign-in otherwise; the
// operators' log wants its refusal.
type Declined struct {
	Request SignInRequest `json:"request"`
	Outcome string        `json:"outcome"`
}

// Outcomes of a Declined.
const (
	OutcomeDenied  = "denied"
	OutcomeTimeout = "timeout"
)

// QRAnswer is PathQR's answer on success.
type QRAnswer struct {
	ErrCode int    `json:"errcode"`
	AppName string `json:"app_name"`
}

// DeviceAuthorization is the RFC 8628 section 3.2 response.
type DeviceAuthorization struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// DeviceToken ends the device flow: the device credential the daemon
// keeps in the OS keyring.
type DeviceToken struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	DeviceID    string `json:"device_id"`
}

// OAuthError is an RFC 6749 section 5.2 error of the token endpoints.
type OAuthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
	Interval    int    `json:"interval,omitempty"` // with slow_down: the interval to keep from now on
}

// IsLoopbackHost reports whether host names this machine only: localhost,
// *.localhost, 127.0.0.0/8 or ::1. Plain http is allowed only there, for
// redirect URIs (the backend) and for the backend itself (the daemon).
func IsLoopbackHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
