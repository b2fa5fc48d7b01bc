package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/scanfree/scanfree/internal/deviceapi"
)

// Enrolment errors.
var (
	ErrDenied  = errors.New("sign-in denied on the web page")
	ErrExpired = errors.New("the sign-in code expired before it was approved")
)

// DeviceAuthorization is a started RFC 8628 enrolment.
type DeviceAuthorization = deviceapi.DeviceAuthorization

func (c *Client) postForm(ctx context.Context, path string, form url.Values) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", c.backend().JoinPath(path).String(), strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if path == deviceapi.PathToken {
		// The credential is bound to the key this proves (RFC 9449).
		if _, err := c.prove(req, ""); err != nil {
			return 0, nil, err
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	c.keepNonce(resp)
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// StartEnrolment asks the backend for a user code.
func (c *Client) StartEnrolment(ctx context.Context, deviceName, os string) (DeviceAuthorization, error) {
	var da DeviceAuthorization
	c.dropUnusableKey()
	status, b, err := c.postForm(ctx, deviceapi.PathDeviceAuthorization, url.Values{"client_id": {deviceapi.ClientID}, "device_name": {deviceName}, "os": {os}})
	if err != nil {
		return da, err
	}
	if status != http.StatusOK || json.Unmarshal(b, &da) != nil || da.DeviceCode == "" {
		return da, fmt.Errorf("start sign-in: backend answered %d: %s", status, strings.TrimSpace(string(b)))
	}
	if da.Interval <= 0 {
		da.Interval = 5
	}
	for _, u := range []string{da.VerificationURI, da.VerificationURIComplete} {
		if err := c.pageURL(u); err != nil {
			return DeviceAuthorization{}, fmt.Errorf("start sign-in: %w", err)
		}
	}
	return da, nil
}

// pageURL checks a URL the backend asks the user to open: the tray and
// `scanfreed login` open it or print it, so it must be an http(s) page on
// the backend's origin, never a file:, javascript: or another site's URL.
func (c *Client) pageURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("the backend sent %q as its sign-in page; want an http(s) URL on its origin", raw)
	}
	origin := originOf(u)
	c.mu.Lock()
	base, pages := c.base, c.cfg.PageOrigins
	c.mu.Unlock()
	if origin == originOf(base) || slices.Contains(pages, origin) {
		return nil
	}
	return fmt.Errorf("the backend sent a sign-in page on %s, not on its own origin %s://%s; check backend_url", origin, base.Scheme, base.Host)
}

// WaitEnrolment polls until the user approves, denies or the code
// expires, and stores the credential on approval.
func (c *Client) WaitEnrolment(ctx context.Context, da DeviceAuthorization) error {
	interval := time.Duration(da.Interval) * time.Second
	deadline := time.Now().Add(time.Duration(da.ExpiresIn) * time.Second)
	form := url.Values{"grant_type": {deviceapi.GrantTypeDeviceCode}, "client_id": {deviceapi.ClientID}, "device_code": {da.DeviceCode}}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
		if time.Now().After(deadline) {
			return ErrExpired
		}
		var tok struct {
			deviceapi.DeviceToken
			deviceapi.OAuthError
		}
		status, b, err := c.postForm(ctx, deviceapi.PathToken, form)
		if err == nil && json.Unmarshal(b, &tok) == nil && tok.Error == "use_dpop_nonce" {
			// Sign again with the nonce that answer gave.
			tok = struct {
				deviceapi.DeviceToken
				deviceapi.OAuthError
			}{}
			status, b, err = c.postForm(ctx, deviceapi.PathToken, form)
			json.Unmarshal(b, &tok)
		}
		if err != nil {
			continue // backend briefly away: keep polling until the code expires
		}
		switch {
		case status == http.StatusOK && tok.AccessToken != "":
			if err := c.cfg.Creds.Set(tok.AccessToken); err != nil {
				return err
			}
			c.mu.Lock()
			c.cred, c.credRead, c.profile = tok.AccessToken, true, nil
			c.postureAt = time.Time{} // report at once
			c.mu.Unlock()
			return nil
		case tok.Error == "authorization_pending":
		case tok.Error == "slow_down":
			interval += 5 * time.Second
			if tok.Interval > 0 {
				interval = time.Duration(tok.Interval) * time.Second
			}
		case tok.Error == "access_denied":
			return ErrDenied
		case tok.Error == "expired_token":
			return ErrExpired
		default:
			return fmt.Errorf("sign-in: backend answered %d: %s", status, strings.TrimSpace(string(b)))
		}
	}
}

// originOf is u's origin as browsers write it: lower case, no default port.
func originOf(u *url.URL) string {
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	host = strings.TrimSuffix(host, map[string]string{"http": ":80", "https": ":443"}[scheme])
	return scheme + "://" + host
}
