// Package oidctest runs an OpenID Connect provider that is not scanfree
// (oauth2-proxy's mockoidc) on a loopback port for a test, stopped when
// the test ends.
package oidctest

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
)

// Provider is a running mockoidc. While Tamper is set, the token
// endpoint's id_tokens have their payload altered (a group "engineering"
// becomes "admins") under the provider's unchanged signature.
type Provider struct {
	*mockoidc.MockOIDC
	Tamper atomic.Bool
}

// Start starts a provider.
func Start(t testing.TB) *Provider {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{MockOIDC: m}
	m.AddMiddleware(p.tamper)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return p
}

// SecretFile writes the client secret into a file of dir and returns its path.
func (p *Provider) SecretFile(t testing.TB, dir string) string {
	t.Helper()
	f := filepath.Join(dir, "oidc-client-secret")
	if err := os.WriteFile(f, []byte(p.ClientSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (p *Provider) tamper(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.Tamper.Load() || r.URL.Path != mockoidc.TokenEndpoint {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var body map[string]any
		json.Unmarshal(rec.Body.Bytes(), &body)
		if raw, ok := body["id_token"].(string); ok {
			parts := strings.Split(raw, ".")
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			payload = []byte(strings.Replace(string(payload), `"engineering"`, `"admins"`, 1))
			parts[1] = base64.RawURLEncoding.EncodeToString(payload)
			body["id_token"] = strings.Join(parts, ".")
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body)
	})
}
