package system

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ReplicaOptions tune StartReplicas.
type ReplicaOptions struct {
	DB        string   // the database they share (PostgreSQL)
	N         int      // how many
	PublicURL string   // the one public URL (a load balancer's); "" for each its own
	Args      []string // flags for every replica
	// Each, when set, adds flags for replica i (its own --metrics-addr).
	Each func(i int) []string
}

// StartReplicas starts opts.N scanfree-server processes on one database,
// as replicas behind a load balancer, each ready when it returns. When one
// fails, the ones started are stopped and the error says which.
func StartReplicas(ctx context.Context, opts ReplicaOptions) ([]*Backend, error) {
	var bs []*Backend
	stop := func() {
		for _, b := range bs {
			b.Proc.Kill()
		}
	}
	for i := range opts.N {
		args := append([]string(nil), opts.Args...)
		if opts.Each != nil {
			args = append(args, opts.Each(i)...)
		}
		b, err := NewBackend(ctx, BackendOptions{DB: opts.DB, PublicURL: opts.PublicURL, Args: args})
		if err == nil {
			err = b.Start(ctx)
		}
		if err != nil {
			stop()
			return nil, fmt.Errorf("replica %d of %d: %w", i+1, opts.N, err)
		}
		bs = append(bs, b)
	}
	return bs, nil
}

// CreatePeople creates an account per username, as every seeded backend
// has them: nickname the name capitalised, password "<name>-password",
// and, with avatars, a picture URL.
func (b *Backend) CreatePeople(ctx context.Context, avatars bool, usernames ...string) error {
	for _, u := range usernames {
		avatar := ""
		if avatars {
			avatar = "https://avatar.example/" + u + ".png"
		}
		if err := b.CreateUser(ctx, u, strings.ToUpper(u[:1])+u[1:], avatar, u+"-password"); err != nil {
			return err
		}
	}
	return nil
}

// Token is the WeChat face's answer to a code exchange: the tokens, or
// the errcode.
type Token struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	OpenID       string `json:"openid"`
	UnionID      string `json:"unionid"`
	ErrCode      int    `json:"errcode"`
	ErrMsg       string `json:"errmsg"`
}

// Exchange trades code for a token at base as a relying party's server
// does, and returns the answer (an errcode in it is not an error here)
// and its bytes. c nil is http.DefaultClient.
func Exchange(ctx context.Context, c *http.Client, base, appID, secret, code string) (Token, []byte, error) {
	if c == nil {
		c = http.DefaultClient
	}
	u := base + "/sns/oauth2/access_token?" + url.Values{"appid": {appID}, "secret": {secret}, "code": {code},
		"grant_type": {"authorization_code"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return Token{}, nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return Token{}, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Token{}, b, err
	}
	var t Token
	if err := json.Unmarshal(b, &t); err != nil {
		return t, b, errors.New("exchange: not JSON: " + string(b))
	}
	return t, b, nil
}
