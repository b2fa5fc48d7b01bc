package bench

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
)

// OIDC measures the OpenID Connect code exchange (POST /oauth2/token with
// client_secret_basic and a PKCE verifier, answering a signed id_token)
// with RS256 and with ES256, beside the WeChat exchange on the same server
// and a bare net/http handler answering the same bytes. One op is one
// token request.
func OIDC(ctx context.Context, w io.Writer, d time.Duration) error {
	sv, err := serve(ctx, server.Config{DataKey: make([]byte, 32)})
	if err != nil {
		return err
	}
	defer sv.close()
	st, wx, userID, realURL := sv.st, sv.app, sv.userID, sv.url
	apps := map[string]admin.NewApp{}
	for _, alg := range []string{"RS256", "ES256"} {
		if apps[alg], err = admin.CreateApp(ctx, st, admin.AppSpec{Name: "Bench " + alg, RedirectURIs: []string{benchRedirect}, IDTokenAlg: alg}, time.Now()); err != nil {
			return err
		}
	}

	const verifier = "bench-verifier-bench-verifier-bench-verifier-0123"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	mint := func(app admin.NewApp, n int) ([]string, error) {
		return mintCodesLike(ctx, st, storage.Code{AppID: app.AppID, UserID: userID, Scope: "openid profile", Face: storage.FaceOIDC,
			Nonce: "bench-nonce", CodeChallenge: challenge, AMR: []string{"swk", "user"}}, n)
	}
	c := Client(64)
	tokenOp := func(c *http.Client, base string, app admin.NewApp, codes []string) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			_, err := postToken(ctx, c, base, app, codes[i%len(codes)], verifier)
			return err
		}
	}
	// The bare baseline answers what the RS256 exchange answers.
	sample, err := mint(apps["RS256"], 1)
	if err != nil {
		return err
	}
	body, err := postToken(ctx, c, realURL, apps["RS256"], sample[0], verifier)
	if err != nil {
		return err
	}
	bareURL, stopBare, err := listen(ctx, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(body)
	}))
	if err != nil {
		return err
	}
	defer stopBare()

	var rows []Result
	for _, clients := range []int{1, 16, 64} {
		n := 6000
		if clients == 1 {
			n = 2000
		}
		c := Client(clients)
		rows = append(rows, Run(ctx, "bare net/http", clients, n, d, tokenOp(c, bareURL, apps["RS256"], sample)))
		wxCodes, err := mintCodes(ctx, st, wx.AppID, userID, n)
		if err != nil {
			return err
		}
		rows = append(rows, Run(ctx, "wechat /sns/oauth2/access_token", clients, n, d, func(ctx context.Context, i int) error {
			_, _, err := exchange(ctx, c, realURL, wx.AppID, wx.Secret, wxCodes[i])
			return err
		}))
		for _, alg := range []string{"RS256", "ES256"} {
			codes, err := mint(apps[alg], n)
			if err != nil {
				return err
			}
			rows = append(rows, Run(ctx, "oidc /oauth2/token "+alg, clients, n, d, tokenOp(c, realURL, apps[alg], codes)))
		}
		c.CloseIdleConnections()
	}
	Print(w, "OpenID Connect code exchange with id_token (one op = 1 token request)", "bare net/http", rows)
	fmt.Fprintf(w, "the bare baseline answers one sample RS256 response; RS256 signing costs one 2048-bit RSA signature per token, ES256 one P-256 signature\n")

	// The machine's RSA limit, measured now: every core signing.
	limit, err := rsaLimit(time.Second)
	if err != nil {
		return err
	}
	var rs, es float64
	for _, r := range rows {
		if r.Clients == 64 {
			switch r.Name {
			case "oidc /oauth2/token RS256":
				rs = r.PerSec()
			case "oidc /oauth2/token ES256":
				es = r.PerSec()
			}
		}
	}
	judge(w, Verdict{Target: "oidc RS256 token vs the machine's RSA-2048 signing limit, 64 clients", Ratio: rs / limit, Bound: 0.8,
		Measured: fmt.Sprintf("%.0f of %.0f signatures/s on %d cores; driver in the same process", rs, limit, runtime.NumCPU())})
	fmt.Fprintf(w, "ES256 vs RS256 at 64 clients: %.1fx (%.0f vs %.0f ops/s); Dex is not run by this harness, so ES256 >= 10x Dex is not judged here\n",
		es/rs, es, rs)
	return nil
}

// rsaLimit is how many RSA-2048 PKCS#1 v1.5 signatures per second the
// machine makes with every core signing for d.
func rsaLimit(d time.Duration) (float64, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return 0, err
	}
	digest := sha256.Sum256([]byte("bench"))
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:]); err == nil {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds(), nil
}

// postToken redeems code at /oauth2/token and returns the answer, which
// must hold an id_token.
func postToken(ctx context.Context, c *http.Client, base string, app admin.NewApp, code, verifier string) ([]byte, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {benchRedirect}, "code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(app.AppID), url.QueryEscape(app.Secret))
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"id_token"`) {
		return nil, fmt.Errorf("token: %d %s", resp.StatusCode, b)
	}
	return b, nil
}
