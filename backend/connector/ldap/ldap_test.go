package ldap_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/connector"
	"github.com/scanfree/scanfree/backend/connector/ldap"
	"github.com/scanfree/scanfree/internal/harness/ldaptest"
)

func config(srv *ldaptest.Server, t *testing.T) ldap.Config {
	pw := filepath.Join(t.TempDir(), "bind-pw")
	os.WriteFile(pw, []byte(ldaptest.AdminPW+"\n"), 0o600)
	return ldap.Config{Host: srv.Host, RootCA: srv.CAFile, BindDN: ldaptest.AdminDN, BindPWFile: pw, Timeout: 3 * time.Second,
		UserSearch:  ldap.UserSearch{BaseDN: ldaptest.People, Filter: "(objectClass=inetOrgPerson)", Groups: "memberOf"},
		GroupSearch: ldap.GroupSearch{BaseDN: ldaptest.Groups}}
}

// TestLDAP signs in against a real slapd over LDAPS: the password is
// checked by a bind as the person, her groups come from memberOf and a
// group search, a renamed entry is the same person, a deleted one is
// gone, and a directory that is down or not the one the CA vouches for
// is unavailable, never "wrong password".
func TestLDAP(t *testing.T) {
	srv := ldaptest.Start(t)
	alice := srv.AddPerson("alice", "Alice Liddell", "alice-pw-123")
	srv.AddPerson("bob", "Bob", "bob-pw-12345")
	srv.AddGroup("staff", alice)
	ctx := context.Background()
	c, err := ldap.New("corp", "Corp directory", config(srv, t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	id, ok, err := c.Login(ctx, "Alice", "alice-pw-123")
	if err != nil || !ok {
		t.Fatalf("alice's sign-in: %v %v", ok, err)
	}
	if id.Subject == "" || id.Username != "alice" || id.Name != "Alice Liddell" || id.Email != "alice@example.org" || id.Connector != "corp" {
		t.Fatalf("identity: %+v", id)
	}
	// memberOf and the group search each name the group.
	for name, narrow := range map[string]func(*ldap.Config){
		"memberOf":     func(c *ldap.Config) { c.GroupSearch = ldap.GroupSearch{} },
		"group search": func(c *ldap.Config) { c.UserSearch.Groups = "" },
	} {
		cfg := config(srv, t)
		narrow(&cfg)
		one, _ := ldap.New("corp", "Corp", cfg, slog.Default())
		if got, ok, err := one.Login(ctx, "alice", "alice-pw-123"); !ok || err != nil || !slices.Equal(got.Groups, []string{"staff"}) {
			t.Fatalf("groups by %s: %v (%v %v)", name, got.Groups, ok, err)
		}
	}
	for _, tc := range []struct{ name, user, pw string }{
		{"wrong password", "alice", "bob-pw-12345"},
		{"empty password (an unauthenticated bind)", "alice", ""},
		{"unknown person", "carol", "alice-pw-123"},
		{"filter injection", "*)(uid=*", "alice-pw-123"},
		{"another's password", "bob", "alice-pw-123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok, err := c.Login(ctx, tc.user, tc.pw); ok || err != nil {
				t.Fatalf("got %v %v, want a plain refusal", ok, err)
			}
		})
	}
	t.Run("StartTLS and plain to loopback", func(t *testing.T) {
		for name, narrow := range map[string]func(*ldap.Config){
			"start_tls":       func(c *ldap.Config) { c.Host, c.StartTLS = srv.Plain, true },
			"insecure_no_tls": func(c *ldap.Config) { c.Host, c.RootCA, c.InsecureNoTLS = srv.Plain, "", true },
		} {
			cfg := config(srv, t)
			narrow(&cfg)
			one, err := ldap.New("corp", "Corp", cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if got, ok, err := one.Login(ctx, "bob", "bob-pw-12345"); !ok || err != nil || got.Username != "bob" {
				t.Fatalf("%s: %v %v %+v", name, ok, err, got)
			}
		}
	})
	t.Run("rename keeps her", func(t *testing.T) {
		srv.Rename("alice", "alice.l")
		got, err := c.Refresh(ctx, id)
		if err != nil || got.Subject != id.Subject || got.Username != "alice.l" {
			t.Fatalf("after the rename: %+v %v", got, err)
		}
		if _, ok, _ := c.Login(ctx, "alice", "alice-pw-123"); ok {
			t.Fatal("the old name still signs in")
		}
		if again, ok, err := c.Login(ctx, "alice.l", "alice-pw-123"); !ok || err != nil || again.Subject != id.Subject {
			t.Fatalf("the new name: %v %v %+v", ok, err, again)
		}
	})
	t.Run("deleted is gone", func(t *testing.T) {
		srv.Delete("uid=alice.l," + ldaptest.People)
		if _, err := c.Refresh(ctx, id); !errors.Is(err, connector.ErrGone) {
			t.Fatalf("refresh of a deleted entry: %v", err)
		}
	})
	t.Run("wrong CA", func(t *testing.T) {
		cfg := config(srv, t)
		cfg.RootCA = ""
		other, err := ldap.New("corp", "Corp", cfg, slog.Default())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := other.Login(ctx, "bob", "bob-pw-12345"); ok || !errors.Is(err, connector.ErrUnavailable) {
			t.Fatalf("a certificate no configured CA vouches for: %v %v", ok, err)
		}
	})
	t.Run("down", func(t *testing.T) {
		srv.Stop()
		if _, ok, err := c.Login(ctx, "bob", "bob-pw-12345"); ok || !errors.Is(err, connector.ErrUnavailable) {
			t.Fatalf("sign-in with the directory down: %v %v", ok, err)
		}
		if _, err := c.Refresh(ctx, id); !errors.Is(err, connector.ErrUnavailable) {
			t.Fatalf("refresh with the directory down: %v", err)
		}
	})
}

// TestLDAPConfig: settings that cannot work are refused with the fix.
func TestLDAPConfig(t *testing.T) {
	base := ldap.UserSearch{BaseDN: "ou=people,dc=x"}
	for _, tc := range []struct {
		name string
		cfg  ldap.Config
		want string
	}{
		{"no host", ldap.Config{UserSearch: base}, "host"},
		{"no port", ldap.Config{Host: "ldap.example.org", UserSearch: base}, "host:port"},
		{"plain LDAP over the network", ldap.Config{Host: "ldap.example.org:389", InsecureNoTLS: true, UserSearch: base}, "in the clear"},
		{"no base", ldap.Config{Host: "ldap.example.org:636"}, "base_dn"},
		{"bad filter", ldap.Config{Host: "ldap.example.org:636", UserSearch: ldap.UserSearch{BaseDN: "dc=x", Filter: "(uid="}}, "filter"},
		{"bind without password", ldap.Config{Host: "ldap.example.org:636", BindDN: "cn=svc", UserSearch: base}, "bind_pw_file"},
		{"bad scope", ldap.Config{Host: "ldap.example.org:636", UserSearch: ldap.UserSearch{BaseDN: "dc=x", Scope: "all"}}, "scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ldap.New("corp", "Corp", tc.cfg, slog.Default())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error about %s", err, tc.want)
			}
		})
	}
	if _, err := ldap.New("corp", "Corp", ldap.Config{Host: "127.0.0.1:389", InsecureNoTLS: true, UserSearch: base}, slog.Default()); err != nil {
		t.Fatalf("plain LDAP to this machine: %v", err)
	}
}
