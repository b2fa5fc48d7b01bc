package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
)

// The purposes sealed values are sealed for, in one place so that no two
// uses share one by accident; each derives its own key. Never change a
// value: what was sealed for it would no longer open.
const (
	PurposePhone      = "phone"            // a user's verified phone number, bound to the user id
	PurposeSessionKey = "session-key"      // a desktop app's session_key, bound to user/app
	PurposeQRCode     = "qr-code"          // a confirmed QR ticket's code, bound to the ticket
	PurposeSigningKey = "oidc-signing-key" // an id_token signing key, bound to its kid
	PurposeOpenIDKey  = "openid-key"       // the openid/unionid HMAC key
	PurposeConnector  = "connector-data"   // what a connector keeps of a person (an upstream refresh token), bound to connector/subject
	PurposeTOTP       = "totp-secret"      // an authenticator app's shared secret, bound to the user id
	PurposeTOTPSetup  = "totp-setup"       // a secret being enrolled, in the enrolment form, bound to the user id
	PurposeSecondStep = "second-step"      // a sign-in waiting for its second factor, in the code form
)

// ErrOpen reports a sealed value that does not open under the key: it was
// changed, or sealed under another key or for another purpose.
var ErrOpen = errors.New("sealed value does not open")

// Seal encrypts and authenticates plaintext with AES-256-GCM under a key
// derived from key for purpose; ad is bound to it but not stored.
func Seal(key []byte, purpose string, plaintext, ad []byte) []byte {
	aead := gcm(key, purpose)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, plaintext, ad)
}

// Open reverses Seal; anything but the sealed value under the same key,
// purpose and ad is ErrOpen.
func Open(key []byte, purpose string, sealed, ad []byte) ([]byte, error) {
	aead := gcm(key, purpose)
	if len(key) == 0 || len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrOpen
	}
	p, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return p, nil
}

func gcm(key []byte, purpose string) cipher.AEAD {
	block, err := aes.NewCipher(MAC(key, "seal", purpose)) // 32 bytes: AES-256
	if err != nil {
		panic(err) // the key length is fixed above
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}
