package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// Backend measures the relying party's path on the SQLite store: code
// exchange at /sns/oauth2/access_token followed by /sns/userinfo, one
// operation being both requests. The baseline is a bare net/http handler
// answering the same JSON bytes.
func Backend(ctx context.Context, w io.Writer, d time.Duration) error {
	sv, err := serve(ctx, server.Config{})
	if err != nil {
		return err
	}
	defer sv.close()
	st, app, userID, realURL := sv.st, sv.app, sv.userID, sv.url

	// Sample answers, so the baseline sends the same bytes.
	sample, err := mintCodes(ctx, st, app.AppID, userID, 1)
	if err != nil {
		return err
	}
	c := Client(64)
	tokBody, err := Get(ctx, c, exchangeURL(realURL, app.AppID, app.Secret, sample[0]))
	if err != nil {
		return err
	}
	var tok struct{ AccessToken, OpenID string }
	json.Unmarshal(tokBody, &struct {
		A *string `json:"access_token"`
		O *string `json:"openid"`
	}{&tok.AccessToken, &tok.OpenID})
	infoBody, err := Get(ctx, c, userinfoURL(realURL, tok.AccessToken, tok.OpenID))
	if err != nil || !bytes.Contains(infoBody, []byte(`"nickname":"Alice"`)) {
		return fmt.Errorf("sample userinfo %s: %v", infoBody, err)
	}
	bareURL, stopBare, err := listen(ctx, bareSNS(tokBody, infoBody))
	if err != nil {
		return err
	}
	defer stopBare()

	var rows []Result
	for _, clients := range []int{1, 16, 64} {
		// Enough fresh codes for the level: codes are single use.
		n := 12000
		if clients == 1 {
			n = 4000
		}
		codes, err := mintCodes(ctx, st, app.AppID, userID, n)
		if err != nil {
			return err
		}
		c := Client(clients)
		op := func(base string, codes []string) func(ctx context.Context, i int) error {
			return func(ctx context.Context, i int) error {
				t, _, err := exchange(ctx, c, base, app.AppID, app.Secret, codes[i])
				if err != nil {
					return err
				}
				_, err = Get(ctx, c, userinfoURL(base, t.AccessToken, t.OpenID))
				return err
			}
		}
		rows = append(rows, Run(ctx, "bare net/http", clients, n, d, op(bareURL, codes)))
		rows = append(rows, Run(ctx, "scanfree-server (sqlite)", clients, n, d, op(realURL, codes)))
		c.CloseIdleConnections()
	}
	Print(w, "code exchange + userinfo (one op = 2 requests)", "bare net/http", rows)
	if last := rows[len(rows)-1]; last.Clients == 64 {
		judge(w, Verdict{Target: "exchange+userinfo in one process with its driver, 64 clients, ops/s", Ratio: last.PerSec(), Bound: 3000,
			Measured: "an op is an exchange and a userinfo"})
	}
	return nil
}

func exchangeURL(base, appID, secret, code string) string {
	return base + "/sns/oauth2/access_token?" + url.Values{"appid": {appID}, "secret": {secret}, "code": {code},
		"grant_type": {"authorization_code"}}.Encode()
}

func userinfoURL(base, token, openid string) string {
	return base + "/sns/userinfo?" + url.Values{"access_token": {token}, "openid": {openid}}.Encode()
}

// mintCodes stores n fresh codes directly, from several writers so that
// the store can share commits: minting is the daemon's path, not the one
// measured here.
func mintCodes(ctx context.Context, st storage.Storage, appID, userID string, n int) ([]string, error) {
	return mintCodesLike(ctx, st, storage.Code{AppID: appID, UserID: userID, Scope: "snsapi_login", Face: storage.FaceWeChat}, n)
}

// mintCodesLike is mintCodes for codes like tmpl (app, user, face, scope,
// OIDC bindings).
func mintCodesLike(ctx context.Context, st storage.Storage, tmpl storage.Code, n int) ([]string, error) {
	now := time.Now()
	codes := make([]string, n)
	for i := range codes {
		codes[i] = secret.Code()
	}
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for w := range errs {
		wg.Go(func() {
			for i := w; i < n && errs[w] == nil; i += len(errs) {
				c := tmpl
				c.Hash, c.RedirectURI, c.CreatedAt, c.ExpiresAt, c.AuthTime = secret.Hash(codes[i]), benchRedirect, now, now.Add(time.Hour), now
				errs[w] = st.CreateSignIn(ctx, c, storage.Event{UserID: c.UserID, Kind: "signin", AppID: c.AppID, CreatedAt: now})
			}
		})
	}
	wg.Wait()
	return codes, errors.Join(errs...)
}

// listen serves h on a loopback port and returns its URL and a stop func.
func listen(ctx context.Context, h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}
