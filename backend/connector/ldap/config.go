package ldap

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scanfree/scanfree/backend/connector"
)

// Config is an LDAP connector's settings (the config file's `config:`
// under a connector of type ldap). The service password comes from a
// file or the environment, never the file itself.
type Config struct {
	// Host is host:port of the directory (636 for LDAPS, 389 for
	// StartTLS or plain).
	Host string `yaml:"host"`
	// StartTLS upgrades a plain connection (port 389) to TLS; without
	// it the connection is LDAPS.
	StartTLS bool `yaml:"start_tls"`
	// InsecureNoTLS speaks plain LDAP: passwords cross the network in the
	// clear, so it is accepted only to a loopback address (a directory
	// on this machine), with a warning.
	InsecureNoTLS bool `yaml:"insecure_no_tls"`
	// RootCA is a PEM file of the CA(s) the directory's certificate
	// chains to; empty uses the system's roots.
	RootCA string `yaml:"root_ca"`
	// BindDN and its password (BindPWFile or BindPWEnv) are the service
	// account that searches; empty binds anonymously.
	BindDN     string `yaml:"bind_dn"`
	BindPWFile string `yaml:"bind_pw_file"`
	BindPWEnv  string `yaml:"bind_pw_env"`
	// ActiveDirectory sets Active Directory's defaults: sAMAccountName,
	// objectGUID as the stable id, and the userAccountControl disabled
	// bit (an account disabled there is refused and, by the sync,
	// disabled here).
	ActiveDirectory bool          `yaml:"active_directory"`
	Timeout         time.Duration `yaml:"timeout"` // each connection's dial and requests (10s)

	UserSearch  UserSearch  `yaml:"user_search"`
	GroupSearch GroupSearch `yaml:"group_search"`
}

// UserSearch finds a person's entry and maps its attributes.
type UserSearch struct {
	BaseDN string `yaml:"base_dn"`
	// Filter narrows the search, e.g. (objectClass=person); an entry it
	// stops matching (a disabled-account attribute, say) is gone.
	Filter string `yaml:"filter"`
	Scope  string `yaml:"scope"` // sub (default) or one
	// Attributes: Username is what people type (uid; AD sAMAccountName
	// or userPrincipalName); ID the stable id (entryUUID; AD objectGUID).
	Username string `yaml:"username"`
	ID       string `yaml:"id"`
	Name     string `yaml:"name"`    // cn; AD displayName
	Picture  string `yaml:"picture"` // a URL attribute, e.g. labeledURI
	Email    string `yaml:"email"`   // mail
	Phone    string `yaml:"phone"`   // telephoneNumber
	// Groups is an attribute listing her groups' DNs (memberOf); each
	// group is known by its DN's first value (cn=ops,... is "ops").
	Groups string `yaml:"groups"`
}

// GroupSearch finds her groups by search when there is no memberOf.
type GroupSearch struct {
	BaseDN string `yaml:"base_dn"` // empty: no group search
	Filter string `yaml:"filter"`  // (objectClass=groupOfNames)
	Scope  string `yaml:"scope"`
	// GroupAttr is the group's member attribute (member), matched against
	// her entry's DN; Name is the group's name attribute (cn).
	GroupAttr string `yaml:"group_attr"`
	Name      string `yaml:"name"`
}

// check fills defaults and reports the first thing wrong, with the fix.
func (c *Config) check() error {
	if c.Host == "" {
		return errors.New("host: set host:port of the directory")
	}
	host, _, err := net.SplitHostPort(c.Host)
	if err != nil {
		return fmt.Errorf("host %q: want host:port (636 for LDAPS)", c.Host)
	}
	if c.InsecureNoTLS && c.StartTLS {
		return errors.New("start_tls and insecure_no_tls: choose one")
	}
	if c.InsecureNoTLS && !connector.Loopback(host) {
		return fmt.Errorf("insecure_no_tls: %s is not this machine; passwords would cross the network in the clear: use LDAPS or start_tls", host)
	}
	if c.BindPWFile != "" && c.BindPWEnv != "" {
		return errors.New("bind_pw_file and bind_pw_env: choose one")
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	u := &c.UserSearch
	if u.BaseDN == "" {
		return errors.New("user_search.base_dn: set where people are, e.g. ou=people,dc=example,dc=org")
	}
	if c.ActiveDirectory {
		u.Username = cmp.Or(u.Username, "sAMAccountName")
		u.ID = cmp.Or(u.ID, "objectGUID")
		u.Name = cmp.Or(u.Name, "displayName")
		u.Filter = cmp.Or(u.Filter, "(&(objectCategory=person)(objectClass=user))")
	}
	u.Username, u.ID, u.Name = cmp.Or(u.Username, "uid"), cmp.Or(u.ID, "entryUUID"), cmp.Or(u.Name, "cn")
	u.Email, u.Phone = cmp.Or(u.Email, "mail"), cmp.Or(u.Phone, "telephoneNumber")
	u.Filter = cmp.Or(u.Filter, "(objectClass=*)")
	for _, f := range []*string{&u.Filter, &c.GroupSearch.Filter} {
		if *f != "" {
			if _, err := ldap.CompileFilter(*f); err != nil {
				return fmt.Errorf("filter %q: %w", *f, err)
			}
		}
	}
	if _, err := scope(u.Scope); err != nil {
		return fmt.Errorf("user_search.%w", err)
	}
	g := &c.GroupSearch
	if g.BaseDN != "" {
		g.Filter, g.GroupAttr, g.Name = cmp.Or(g.Filter, "(objectClass=groupOfNames)"), cmp.Or(g.GroupAttr, "member"), cmp.Or(g.Name, "cn")
		if _, err := scope(g.Scope); err != nil {
			return fmt.Errorf("group_search.%w", err)
		}
	}
	return nil
}

// password returns the service account's password.
func (c *Config) password() (string, error) {
	switch {
	case c.BindPWFile != "":
		b, err := os.ReadFile(c.BindPWFile)
		if err != nil {
			return "", fmt.Errorf("bind_pw_file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case c.BindPWEnv != "":
		pw, ok := os.LookupEnv(c.BindPWEnv)
		if !ok {
			return "", fmt.Errorf("bind_pw_env: %s is not set", c.BindPWEnv)
		}
		return pw, nil
	}
	if c.BindDN != "" {
		return "", errors.New("bind_dn has no password: set bind_pw_file or bind_pw_env")
	}
	return "", nil
}

// tlsConfig is the TLS the directory must offer.
func (c *Config) tlsConfig() (*tls.Config, error) {
	host, _, _ := net.SplitHostPort(c.Host)
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if c.RootCA != "" {
		pem, err := os.ReadFile(c.RootCA)
		if err != nil {
			return nil, fmt.Errorf("root_ca: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("root_ca %s: no PEM certificate in it", c.RootCA)
		}
	}
	return tc, nil
}

func scope(s string) (int, error) {
	switch s {
	case "", "sub":
		return ldap.ScopeWholeSubtree, nil
	case "one":
		return ldap.ScopeSingleLevel, nil
	}
	return 0, fmt.Errorf("scope %q: use sub or one", s)
}
