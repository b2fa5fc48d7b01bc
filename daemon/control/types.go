// Package control is the daemon's control API as its clients see it: the
// wire types and a typed client over the Unix socket (AF_UNIX on Windows
// too, guarded by the state dir's ACL). The CLI and the tray use this
// package and nothing else of the daemon.
package control

import (
	"encoding/json"
	"time"
)

// Status is the daemon's state.
type Status struct {
	SignedIn    bool      `json:"signed_in"`
	Account     *Account  `json:"account,omitempty"`
	Ready       bool      `json:"ready"` // signed in, not paused, not locked: pages may offer scan-free login
	Paused      bool      `json:"paused"`
	PausedUntil time.Time `json:"paused_until,omitzero"` // zero while paused until resumed
	Lock        string    `json:"lock"`                  // "unlocked", "locked" or "unknown"
	LockDetail  string    `json:"lock_detail,omitempty"` // why the lock state is unknown
	Backend     string    `json:"backend"`
	Domain      string    `json:"domain"`
	Port        int       `json:"port"`
	Listen      []string  `json:"listen"`
	StateDir    string    `json:"state_dir"`
	CertExpires time.Time `json:"cert_expires,omitzero"`
	Login       *Login    `json:"login,omitempty"` // an enrolment in progress or its last outcome
	Pending     []Request `json:"pending"`
	Recent      []SignIn  `json:"recent"`
	// Version is the running daemon's build (internal/version).
	Version string `json:"version"`
	// Dialog is the confirmation dialog's program as the daemon finds it
	// in its own session, "off" with --no-dialog; DialogProblem says why
	// there is none.
	Dialog        string `json:"dialog"`
	DialogProblem string `json:"dialog_problem,omitempty"`
	// KeyProtection is where the key this desktop proves with every call
	// lives ("software": a file in the state directory), "" before it
	// has one.
	KeyProtection string `json:"key_protection,omitempty"`
	// KeyVerified is where the backend records the key ("tpm" once this
	// desktop showed it its TPM holds the key, else "software"), "" when
	// not known; KeyProblem says why the key cannot be used.
	KeyVerified string `json:"key_verified,omitempty"`
	KeyProblem  string `json:"key_problem,omitempty"`
	// TPMSkipped says why the key was made in software although this
	// computer has a TPM.
	TPMSkipped string `json:"tpm_skipped,omitempty"`
	// KeyInKeychain says a software key is held by the login keychain
	// (macOS), not by a file in the state directory; KeychainSkipped says
	// why a new one went to the file instead.
	KeyInKeychain   bool   `json:"key_in_keychain,omitempty"`
	KeychainSkipped string `json:"keychain_skipped,omitempty"`
	// Posture is what this desktop last told the backend about itself
	// (OS, disk encryption, screen lock, Secure Boot), for apps' device
	// policies; PostureProblem says why the last report failed.
	Posture        []PostureSignal `json:"posture,omitempty"`
	PostureProblem string          `json:"posture_problem,omitempty"`
	// PolicyWarnings are what apps the person signed in to would refuse
	// this desktop for (their device policies), each saying what to fix.
	PolicyWarnings []string `json:"policy_warnings,omitempty"`
}

// PostureSignal is one posture reading: yes, no or unknown (or, for the
// OS, its version), and how it was read.
type PostureSignal struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	How   string `json:"how,omitempty"`
}

// Account is the signed-in user.
type Account struct {
	Username   string `json:"username"`
	Nickname   string `json:"nickname"`
	HeadImgURL string `json:"headimgurl,omitempty"`
	DeviceName string `json:"device_name,omitempty"`
}

// Login is an enrolment: while in progress, what the user must do.
type Login struct {
	InProgress              bool      `json:"in_progress"`
	UserCode                string    `json:"user_code,omitempty"`
	VerificationURI         string    `json:"verification_uri,omitempty"`
	VerificationURIComplete string    `json:"verification_uri_complete,omitempty"`
	ExpiresAt               time.Time `json:"expires_at,omitzero"`
	Error                   string    `json:"error,omitempty"` // how the last enrolment failed
}

// Request is a pending sign-in confirmation.
type Request struct {
	ID           string    `json:"id"`
	AppID        string    `json:"appid"`
	AppName      string    `json:"app_name"`
	AppIcon      string    `json:"app_icon,omitempty"`
	Origin       string    `json:"origin"`
	RedirectHost string    `json:"redirect_host"`
	Scope        string    `json:"scope"`
	Account      string    `json:"account"`
	Kind         string    `json:"kind,omitempty"` // "" a web sign-in, "app" a desktop app's first sign-in, "phone" its phone number
	Created      time.Time `json:"created"`
	Expires      time.Time `json:"expires"`
}

// SignIn is a completed sign-in.
type SignIn struct {
	AppID   string    `json:"appid"`
	AppName string    `json:"app_name"`
	Origin  string    `json:"origin"`
	Account string    `json:"account"`
	At      time.Time `json:"at"`
}

// Event is one item of the event stream: the full status after every
// change, so a client never has to ask again.
type Event struct {
	Type   string `json:"type"` // "status"
	Status Status `json:"status"`
}

// AppReply is the answer to a desktop app's request (code, userdata,
// session): ErrCode 0 with the data, or one of deviceapi's errcodes with
// ErrMsg, as the local API answers pages.
type AppReply struct {
	ErrCode   int             `json:"errcode"`
	ErrMsg    string          `json:"errmsg,omitempty"`
	Code      string          `json:"code,omitempty"`
	ExpiresIn int             `json:"expires_in,omitempty"`
	AppName   string          `json:"app_name,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"` // userdata: WeChat's getUserInfo answer, with "phone" when asked
}

// AppConsent is a desktop app the person allowed.
type AppConsent struct {
	AppID   string    `json:"appid"`
	AppName string    `json:"app_name"`
	LoginAt time.Time `json:"login_at"`
	PhoneAt time.Time `json:"phone_at,omitzero"`
}
