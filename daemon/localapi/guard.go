// Package localapi is the daemon's browser-facing HTTPS API on the
// loopback domain: check-login and authorize, in the wire format of the
// seeds, behind the checks of DESIGN.md's security model. Requests whose
// SNI, Host or Origin is not allowed get 403 with an empty body and no CORS
// headers, before anything else is looked at, so a refusal says nothing
// about the daemon or whether anyone is signed in.
package localapi

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// AllowedHost reports whether a request's Host header names this daemon:
// exactly <domain>:<port>, localhost:<port>, 127.0.0.1:<port> or
// [::1]:<port>. Anything else may be a DNS-rebinding page.
func AllowedHost(host, domain string, port int) bool {
	return hostIn(host, allowedHosts(domain, port))
}

func allowedHosts(domain string, port int) []string {
	p := ":" + strconv.Itoa(port)
	return []string{domain + p, "localhost" + p, "127.0.0.1" + p, "[::1]" + p}
}

func hostIn(host string, allowed []string) bool {
	host = asciiLower(host)
	for _, h := range allowed {
		if host == h {
			return true
		}
	}
	return false
}

// asciiLower lowercases ASCII letters only: Unicode case folding would let
// "ſ" (U+017F) or "K" (U+212A) stand in for ASCII letters of a host name.
func asciiLower(s string) string {
	if !hasUpper(s) {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// AllowedSNI reports whether a TLS server name is acceptable: the domain,
// or none (a client that dialled an IP address).
func AllowedSNI(serverName, domain string) bool {
	return serverName == "" || asciiLower(serverName) == domain
}

// AllowedOrigin reports whether origin is exactly one of trusted, which
// hold normalized origins (see NormalizeOrigin). "null" and "" never are.
func AllowedOrigin(origin string, trusted []string) bool {
	if origin == "" || origin == "null" {
		return false
	}
	for _, t := range trusted {
		if origin == t {
			return true
		}
	}
	return false
}

// NormalizeOrigin turns a configured origin into the form browsers send:
// lowercase scheme and host, no default port, no path.
func NormalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		return "", fmt.Errorf("trusted origin %q: want scheme://host[:port], e.g. https://login.example.com", s)
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// refuse answers 403 with an empty body and no CORS headers.
func refuse(w http.ResponseWriter, r *http.Request) {
	discardBody(w, r)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusForbidden)
}

// maxDiscard bounds what an early answer reads of a body it ignores.
const maxDiscard = 256 << 10

// discardBody reads what the client sends of a body the answer ignores
// (up to maxDiscard, for at most a second) before the answer is written.
// Over HTTP/2 an answer that completes while the body is still arriving
// makes the server reset the stream, and some clients (curl 7.88) then
// report a framing error instead of the status; over HTTP/1.1 an unread
// body closes the connection.
func discardBody(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	// The deadline stays: whatever the client still sends after this is
	// not waited for (the connection is closed instead).
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(time.Second))
	io.Copy(io.Discard, io.LimitReader(r.Body, maxDiscard))
}

// guard admits only requests over TLS with an allowed SNI, Host and Origin,
// answers CORS preflights for those, and sets CORS headers on the rest.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		hosts := s.hosts.Load()
		if r.TLS == nil || hosts == nil || !AllowedSNI(r.TLS.ServerName, s.cfg.Domain) || !hostIn(r.Host, *hosts) ||
			len(r.Header.Values("Origin")) != 1 || !AllowedOrigin(origin, *s.origins.Load()) {
			refuse(w, r)
			return
		}
		// Canonical keys assigned directly: this runs on every request.
		h := w.Header()
		h["Access-Control-Allow-Origin"] = []string{origin}
		h["Vary"] = append(h["Vary"], "Origin")
		h["Cache-Control"] = []string{"no-store"}
		h["X-Content-Type-Options"] = []string{"nosniff"}
		if r.Method == http.MethodOptions {
			if r.Header.Get("Access-Control-Request-Method") != http.MethodPost {
				refuse(w, r)
				return
			}
			h.Set("Access-Control-Allow-Methods", "POST")
			h.Set("Access-Control-Allow-Headers", "Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
				h.Set("Access-Control-Allow-Private-Network", "true")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
