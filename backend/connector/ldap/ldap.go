// Package ldap is the connector for LDAP directories and Active
// Directory (github.com/go-ldap/ldap/v3): a service bind searches for the
// person's entry, a bind as that entry checks her password, and her
// entry's stable id (entryUUID, objectGUID) is who she is, so a renamed
// entry stays the same person.
package ldap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scanfree/scanfree/backend/connector"
)

// adDisabled is userAccountControl's ACCOUNTDISABLE bit.
const adDisabled = 0x2

// Connector is an LDAP directory.
type Connector struct {
	id, name string
	cfg      Config
	password string
	log      *slog.Logger
}

var (
	_ connector.PasswordConnector = (*Connector)(nil)
	_ connector.Refresher         = (*Connector)(nil)
)

// New checks cfg and returns the connector with id and name. It does not
// contact the directory (a directory down at start must not stop the
// server): its first sign-in does.
func New(id, name string, cfg Config, log *slog.Logger) (*Connector, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	pw, err := cfg.password()
	if err != nil {
		return nil, err
	}
	if _, err := cfg.tlsConfig(); err != nil {
		return nil, err
	}
	if cfg.InsecureNoTLS {
		log.Warn("ldap: plain LDAP without TLS, accepted only because the directory is on this machine", "connector", id, "host", cfg.Host)
	}
	return &Connector{id: id, name: name, cfg: cfg, password: pw, log: log}, nil
}

// ID implements connector.Connector.
func (c *Connector) ID() string { return c.id }

// Name implements connector.Connector.
func (c *Connector) Name() string { return c.name }

// Login implements connector.PasswordConnector.
func (c *Connector) Login(ctx context.Context, username, password string) (connector.Identity, bool, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	// An empty password is an "unauthenticated bind" that many servers
	// accept: never a sign-in.
	if username == "" || password == "" {
		return connector.Identity{}, false, nil
	}
	var id connector.Identity
	var ok bool
	err := c.session(ctx, func(conn *ldap.Conn) error {
		u := c.cfg.UserSearch
		e, err := c.findOne(conn, fmt.Sprintf("(&%s(%s=%s))", u.Filter, u.Username, ldap.EscapeFilter(username)))
		if err != nil || e == nil {
			return err
		}
		if err := conn.Bind(e.DN, password); err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
				return nil
			}
			return unavailable("bind as the person", err)
		}
		ok = true
		// Back to the service account: what follows reads as it.
		if err := c.bind(conn); err != nil {
			return err
		}
		id, err = c.identity(conn, e)
		return err
	})
	return id, ok, err
}

// Refresh implements connector.Refresher: her entry found again by its
// stable id, wherever it now is.
func (c *Connector) Refresh(ctx context.Context, old connector.Identity) (connector.Identity, error) {
	var id connector.Identity
	err := c.session(ctx, func(conn *ldap.Conn) error {
		u := c.cfg.UserSearch
		byID, err := c.idFilter(old.Subject)
		if err != nil {
			return fmt.Errorf("%w: %v", connector.ErrGone, err)
		}
		e, err := c.findOne(conn, fmt.Sprintf("(&%s%s)", u.Filter, byID))
		if err != nil {
			return err
		}
		if e == nil {
			return connector.ErrGone
		}
		id, err = c.identity(conn, e)
		return err
	})
	return id, err
}

// session dials the directory, binds as the service account and runs fn.
// A connection per operation: sign-ins are rare next to the directory's
// capacity, and nothing stale is ever reused.
func (c *Connector) session(ctx context.Context, fn func(conn *ldap.Conn) error) error {
	tc, err := c.cfg.tlsConfig()
	if err != nil {
		return err
	}
	d := &net.Dialer{Timeout: c.cfg.Timeout}
	url := "ldaps://" + c.cfg.Host
	opts := []ldap.DialOpt{ldap.DialWithDialer(d), ldap.DialWithTLSConfig(tc)}
	if c.cfg.StartTLS || c.cfg.InsecureNoTLS {
		url = "ldap://" + c.cfg.Host
	}
	conn, err := ldap.DialURL(url, opts...)
	if err != nil {
		return unavailable("connect to "+c.cfg.Host, err)
	}
	defer conn.Close()
	conn.SetTimeout(c.cfg.Timeout)
	// ctx ends the exchange too: a caller that gave up does not wait for
	// the directory's timeout.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if c.cfg.StartTLS {
		if err := conn.StartTLS(tc); err != nil {
			return unavailable("StartTLS with "+c.cfg.Host, err)
		}
	}
	if err := c.bind(conn); err != nil {
		return err
	}
	return fn(conn)
}

func (c *Connector) bind(conn *ldap.Conn) error {
	var err error
	if c.cfg.BindDN == "" {
		err = conn.UnauthenticatedBind("")
	} else {
		err = conn.Bind(c.cfg.BindDN, c.password)
	}
	if err != nil {
		return unavailable("bind as the service account "+c.cfg.BindDN, err)
	}
	return nil
}

// findOne returns the one entry filter finds under the user search's
// base, nil when none; more than one is an error (a filter that does not
// single people out must not pick one).
func (c *Connector) findOne(conn *ldap.Conn, filter string) (*ldap.Entry, error) {
	u := c.cfg.UserSearch
	sc, _ := scope(u.Scope)
	attrs := []string{u.Username, u.ID, u.Name, u.Email, u.Phone}
	for _, a := range []string{u.Picture, u.Groups} {
		if a != "" {
			attrs = append(attrs, a)
		}
	}
	if c.cfg.ActiveDirectory {
		attrs = append(attrs, "userAccountControl")
	}
	res, err := conn.Search(ldap.NewSearchRequest(u.BaseDN, sc, ldap.NeverDerefAliases, 2, int(c.cfg.Timeout.Seconds()), false, filter, attrs, nil))
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return nil, nil
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) || (err == nil && len(res.Entries) > 1):
		return nil, fmt.Errorf("ldap: %s finds more than one entry under %s; make user_search single people out", filter, u.BaseDN)
	case err != nil:
		return nil, unavailable("search "+u.BaseDN, err)
	case len(res.Entries) == 0:
		return nil, nil
	}
	return res.Entries[0], nil
}

// identity maps entry e to who she is; a disabled Active Directory
// account is gone.
func (c *Connector) identity(conn *ldap.Conn, e *ldap.Entry) (connector.Identity, error) {
	u := c.cfg.UserSearch
	id := connector.Identity{Connector: c.id, Username: strings.ToLower(e.GetAttributeValue(u.Username)), Name: e.GetAttributeValue(u.Name),
		Email: e.GetAttributeValue(u.Email), Phone: e.GetAttributeValue(u.Phone)}
	if u.Picture != "" {
		id.Picture = e.GetAttributeValue(u.Picture)
	}
	if c.cfg.ActiveDirectory && strings.EqualFold(u.ID, "objectGUID") {
		id.Subject = guidString(e.GetRawAttributeValue(u.ID))
	} else {
		id.Subject = e.GetAttributeValue(u.ID)
	}
	if id.Subject == "" || id.Username == "" {
		return id, fmt.Errorf("ldap: entry %s has no %s or no %s; set user_search.id and user_search.username to attributes every person has", e.DN, u.ID, u.Username)
	}
	if c.cfg.ActiveDirectory {
		var uac int64
		fmt.Sscan(e.GetAttributeValue("userAccountControl"), &uac)
		if uac&adDisabled != 0 {
			return id, connector.ErrGone // with her subject: the caller disables her here
		}
	}
	if u.Groups != "" {
		for _, dn := range e.GetAttributeValues(u.Groups) {
			id.Groups = append(id.Groups, firstValue(dn))
		}
	}
	if g := c.cfg.GroupSearch; g.BaseDN != "" {
		sc, _ := scope(g.Scope)
		filter := fmt.Sprintf("(&%s(%s=%s))", g.Filter, g.GroupAttr, ldap.EscapeFilter(e.DN))
		res, err := conn.Search(ldap.NewSearchRequest(g.BaseDN, sc, ldap.NeverDerefAliases, 0, int(c.cfg.Timeout.Seconds()), false, filter, []string{g.Name}, nil))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return id, unavailable("search groups under "+g.BaseDN, err)
		}
		if res != nil {
			for _, ge := range res.Entries {
				if n := ge.GetAttributeValue(g.Name); n != "" {
					id.Groups = append(id.Groups, n)
				}
			}
		}
	}
	return id, nil
}

// idFilter is the filter matching the entry whose stable id is subject.
func (c *Connector) idFilter(subject string) (string, error) {
	u := c.cfg.UserSearch
	if c.cfg.ActiveDirectory && strings.EqualFold(u.ID, "objectGUID") {
		raw, err := guidBytes(subject)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		for _, x := range raw {
			fmt.Fprintf(&b, `\%02x`, x)
		}
		return "(" + u.ID + "=" + b.String() + ")", nil
	}
	return "(" + u.ID + "=" + ldap.EscapeFilter(subject) + ")", nil
}

// firstValue is a DN's first attribute value ("ops" of cn=ops,ou=groups,…),
// the DN itself when it does not parse.
func firstValue(dn string) string {
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) == 0 {
		return dn
	}
	return d.RDNs[0].Attributes[0].Value
}

// guidString is Active Directory's objectGUID in its usual text form
// (the first three groups little-endian).
func guidString(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]),
		binary.LittleEndian.Uint16(b[6:8]), b[8:10], b[10:16])
}

// guidBytes is guidString's inverse.
func guidBytes(s string) ([]byte, error) {
	var a uint32
	var b, c uint16
	var d, e []byte
	if n, err := fmt.Sscanf(strings.ReplaceAll(s, "-", " "), "%08x %04x %04x %x %x", &a, &b, &c, &d, &e); err != nil || n != 5 || len(d) != 2 || len(e) != 6 {
		return nil, fmt.Errorf("objectGUID %q is not a GUID", s)
	}
	out := binary.LittleEndian.AppendUint32(nil, a)
	out = binary.LittleEndian.AppendUint16(out, b)
	out = binary.LittleEndian.AppendUint16(out, c)
	return append(append(out, d...), e...), nil
}

func unavailable(op string, err error) error {
	if errors.Is(err, connector.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: ldap: %s: %v", connector.ErrUnavailable, op, err)
}
