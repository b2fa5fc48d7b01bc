// Package connector signs people in with a directory or provider they
// already have, in the shape of Dex's connectors: a PasswordConnector
// checks a username and password against a directory (LDAP, Active
// Directory), a CallbackConnector sends the browser to a provider that
// sends it back with a code (OpenID Connect, WeChat), and a connector
// can look a person up again later
// (Refresher) so that someone the directory no longer has is disabled
// here. A connector only says who someone is in its directory; the
// server links that identity to a person (storage.Identity) by the
// connector's stable id for her, never by her name.
package connector

import (
	"context"
	"errors"
	"net"
)

// Identity is what a connector knows of a person.
type Identity struct {
	// Subject is the directory's stable id of her (entryUUID,
	// objectGUID, an OIDC sub): a rename keeps it.
	Subject   string
	Username  string // her login name there, lowercased
	Name      string // display name
	Picture   string // picture URL, "" when none
	Email     string
	Phone     string
	Groups    []string
	Data      []byte // what Refresh needs (kept sealed by the server), nil when nothing
	Connector string // the connector's id
}

// Errors a connector returns.
var (
	// ErrGone: the directory answered and no longer has her, or has her
	// disabled: she must not sign in, and the sync disables her.
	ErrGone = errors.New("no longer in the directory")
	// ErrUnavailable wraps a directory that did not answer: nobody is
	// let in and nobody is disabled because of it.
	ErrUnavailable = errors.New("directory unavailable")
)

// Connector is what every connector is.
type Connector interface {
	// ID is the connector's id in the config (links are kept by it).
	ID() string
	// Name is what people see ("Corp directory").
	Name() string
}

// PasswordConnector checks a username and password with a directory.
type PasswordConnector interface {
	Connector
	// Login reports whether password is username's in the directory and
	// who she is there. A wrong username or password is (_, false, nil);
	// a disabled entry with the right password is ErrGone, with her
	// Subject in the Identity; a directory
	// that cannot be asked is ErrUnavailable.
	Login(ctx context.Context, username, password string) (Identity, bool, error)
}

// Refresher looks a linked person up again: her current Identity, or
// ErrGone, or ErrUnavailable.
type Refresher interface {
	Refresh(ctx context.Context, id Identity) (Identity, error)
}

// Attempt is one sign-in through a CallbackConnector: the server makes
// State, Nonce and the PKCE Verifier, keeps them bound to the browser,
// and hands them back with the callback.
type Attempt struct {
	Callback string // the server's callback URL for this connector
	State    string
	Nonce    string
	Verifier string
}

// CallbackConnector signs people in by sending the browser to a provider
// that sends it back with a code (OpenID Connect, WeChat).
type CallbackConnector interface {
	Connector
	// LoginURL is where to send the browser for attempt a.
	LoginURL(ctx context.Context, a Attempt) (string, error)
	// HandleCallback turns the code the provider sent back for a into who
	// she is; a provider that cannot be reached is ErrUnavailable, any
	// other error a refused sign-in (a tampered token, a wrong nonce).
	HandleCallback(ctx context.Context, a Attempt, code string) (Identity, error)
}

// Loopback reports whether host (a name or an address) is this machine:
// the only place a connector may speak without TLS. Names under
// .localhost are not: a resolver may send them to DNS.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
