package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/scanfree/scanfree/client"
)

// RunDesktopApp is Demo Shop's desktop app: it signs in through the
// daemon (package client), lets the shop's server redeem the code, then
// sends the user data (and, with phone, the phone number) encrypted for
// the server, and prints who it is signed in as.
func RunDesktopApp(ctx context.Context, c *client.Client, shopURL string, phone bool, w io.Writer) error {
	hc := &http.Client{Timeout: 15 * time.Second}
	shopURL = strings.TrimSuffix(shopURL, "/")
	var cfg struct {
		AppID string `json:"appid"`
	}
	if err := call(ctx, hc, "GET", shopURL+"/api/desktop/config", nil, &cfg); err != nil {
		return fmt.Errorf("ask Demo Shop for its appid: %w", err)
	}
	code, err := c.Login(ctx, cfg.AppID)
	if err != nil {
		return fmt.Errorf("sign in through scanfreed: %w", err)
	}
	var login struct {
		Token  string `json:"token"`
		OpenID string `json:"openid"`
	}
	if err := call(ctx, hc, "POST", shopURL+"/api/desktop/login", map[string]string{"code": code}, &login); err != nil {
		return fmt.Errorf("Demo Shop's login: %w", err)
	}
	data, err := c.UserData(ctx, cfg.AppID, phone)
	if err != nil {
		return fmt.Errorf("user data from scanfreed: %w", err)
	}
	var p DesktopProfile
	if err := call(ctx, hc, "POST", shopURL+"/api/desktop/profile", map[string]any{"token": login.Token, "rawData": data.RawData,
		"signature": data.Signature, "encryptedData": data.EncryptedData, "iv": data.IV, "phone": data.Phone}, &p); err != nil {
		return fmt.Errorf("Demo Shop's profile: %w", err)
	}
	fmt.Fprintf(w, "Signed in to Demo Shop as %s (openid %s)\n", p.NickName, p.OpenID)
	if p.Phone != "" {
		fmt.Fprintf(w, "Phone number: %s\n", p.Phone)
	}
	return nil
}

// call sends in as JSON (when not nil) and decodes a 200 answer into out.
func call(ctx context.Context, hc *http.Client, method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return errors.New(resp.Status)
	}
	return json.Unmarshal(b, out)
}
