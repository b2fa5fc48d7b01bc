// Package softkey is a software WebAuthn authenticator for tests that
// drive the backend with an HTTP client: it makes ES256 passkeys from a
// page's creation options and answers its request options as a browser
// and a platform authenticator would (the browser's JSON, "none"
// attestation). Its fields let a test make it misbehave: answer for
// another origin or RP ID, skip user verification, count backwards.
//
// In chromium the tests use DevTools' virtual authenticators instead;
// this one is for the attacks a browser would not let a page try.
package softkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Key is one passkey.
type Key struct {
	ID         []byte
	UserHandle []byte
	// RPID is the relying party the key was made for; Origin where the
	// browser says the ceremony ran.
	RPID, Origin string
	// Count is the signature counter the next answer carries, less one.
	Count uint32
	// BackupEligible marks a synced passkey; NoUV answers without user
	// verification (presence only).
	BackupEligible bool
	NoUV           bool

	priv *ecdsa.PrivateKey
}

// options is the part of {"publicKey": …} a ceremony needs.
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

var b64 = base64.RawURLEncoding

// Register makes a passkey from creationOptions (the JSON a page gives
// navigator.credentials.create) at origin, and returns it with the
// browser's answer as JSON.
func Register(creationOptions, origin string) (*Key, string, error) {
	var o options
	if err := json.Unmarshal([]byte(creationOptions), &o); err != nil {
		return nil, "", fmt.Errorf("creation options: %w", err)
	}
	user, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, "", fmt.Errorf("user id: %w", err)
	}
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k := &Key{ID: make([]byte, 16), UserHandle: user, RPID: o.PublicKey.RP.ID, Origin: origin, priv: priv}
	rand.Read(k.ID)
	pub, err := priv.PublicKey.ECDH()
	if err != nil {
		return nil, "", err
	}
	raw := pub.Bytes() // 0x04 || x || y
	cose, _ := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: raw[1:33], -3: raw[33:]})
	att := make([]byte, 16, 16+2+len(k.ID)+len(cose)) // AAGUID: none
	att = binary.BigEndian.AppendUint16(att, uint16(len(k.ID)))
	att = append(append(att, k.ID...), cose...)
	authData := append(k.authData(0x40), att...) // AT: attested credential data follows
	obj, _ := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})
	client := k.clientData("webauthn.create", o.PublicKey.Challenge)
	answer, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(k.ID), "rawId": b64.EncodeToString(k.ID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(client), "attestationObject": b64.EncodeToString(obj),
			"transports": []string{"internal"}}})
	return k, string(answer), nil
}

// Assert answers requestOptions (the JSON a page gives
// navigator.credentials.get) with the key, counting one more signature.
func (k *Key) Assert(requestOptions string) (string, error) {
	var o options
	if err := json.Unmarshal([]byte(requestOptions), &o); err != nil {
		return "", fmt.Errorf("request options: %w", err)
	}
	k.Count++
	authData := k.authData(0)
	client := k.clientData("webauthn.get", o.PublicKey.Challenge)
	sum := sha256.Sum256(client)
	digest := sha256.Sum256(append(append([]byte{}, authData...), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		return "", err
	}
	answer, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(k.ID), "rawId": b64.EncodeToString(k.ID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(client), "authenticatorData": b64.EncodeToString(authData),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(k.UserHandle)}})
	return string(answer), nil
}

// authData is the authenticator data up to its counter, with extra flags.
func (k *Key) authData(extra byte) []byte {
	rp := sha256.Sum256([]byte(k.RPID))
	flags := byte(0x01) | extra // UP
	if !k.NoUV {
		flags |= 0x04
	}
	if k.BackupEligible {
		flags |= 0x08 | 0x10 // BE, BS
	}
	return binary.BigEndian.AppendUint32(append(rp[:], flags), k.Count)
}

func (k *Key) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": k.Origin, "crossOrigin": false})
	return b
}
