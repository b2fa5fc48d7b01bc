package deviceapi

import "time"

// Desktop apps sign in through the daemon the way WeChat mini-programs
// sign in (wx.login, jscode2session, encrypted user data): the daemon
// asks the backend for a one-time login code for an appid, the app's own
// server redeems it at /sns/jscode2session for openid and session_key,
// and the backend mints user data encrypted under that session_key. The
// daemon never holds a session_key.
const (
	PathAppCode     = "/api/v1/device/appcode"     // POST AppCodeRequest → AppCode
	PathAppData     = "/api/v1/device/appdata"     // POST AppDataRequest → AppData
	PathAppSession  = "/api/v1/device/appsession"  // POST AppSessionRequest → Error{0} while the session_key is live
	PathAppConsents = "/api/v1/device/appconsents" // GET → []AppConsent; DELETE PathAppConsents+"/"+appid
)

// CodeConsent answers a desktop app's request the person has not allowed
// yet (signing in, or its phone number): the daemon asks in its dialog and
// sends the request again with the consent.
const CodeConsent = 10068

// AppCodeRequest asks for a login code for AppID. Consent says the person
// just allowed the app in the daemon's dialog.
type AppCodeRequest struct {
	AppID   string `json:"appid"`
	Consent bool   `json:"consent,omitempty"`
}

// AppCode is a login code (single use, 5 minutes), and the app's name.
type AppCode struct {
	Code      string `json:"code"`
	ExpiresIn int    `json:"expires_in"`
	AppName   string `json:"app_name"`
}

// AppConsentNeeded is the CodeConsent answer: what the dialog shows.
type AppConsentNeeded struct {
	Error
	App     App    `json:"app"`
	Account string `json:"account"` // the nickname the app would sign in as
	Phone   bool   `json:"phone"`   // the phone number is asked for, not the sign-in
}

// AppDataRequest asks for the person's data for AppID, encrypted under
// the app's session_key; with Phone their phone number too. ConsentPhone
// says the person just allowed the phone number in the dialog.
type AppDataRequest struct {
	AppID        string `json:"appid"`
	Phone        bool   `json:"phone,omitempty"`
	ConsentPhone bool   `json:"consent_phone,omitempty"`
}

// AppData is WeChat's user data (wx.getUserInfo): RawData, its Signature
// sha1(rawData + session_key) in hex, and EncryptedData (AES-128-CBC,
// PKCS#7, key = base64-decoded session_key) with IV, both base64; its
// plaintext carries a watermark with appid and timestamp. Phone is the
// getPhoneNumber answer when asked for.
type AppData struct {
	UserInfo      map[string]any `json:"userInfo"`
	RawData       string         `json:"rawData"`
	Signature     string         `json:"signature"`
	EncryptedData string         `json:"encryptedData"`
	IV            string         `json:"iv"`
	Phone         *EncryptedData `json:"phone,omitempty"`
}

// EncryptedData is one encrypted answer (getPhoneNumber's).
type EncryptedData struct {
	EncryptedData string `json:"encryptedData"`
	IV            string `json:"iv"`
}

// AppSessionRequest asks whether AppID's session_key is live (wx.checkSession).
type AppSessionRequest struct {
	AppID string `json:"appid"`
}

// AppConsent is one desktop app the person allowed.
type AppConsent struct {
	AppID   string    `json:"appid"`
	AppName string    `json:"app_name"`
	LoginAt time.Time `json:"login_at"`
	PhoneAt time.Time `json:"phone_at,omitzero"`
}
