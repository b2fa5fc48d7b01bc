package localapi

import (
	"context"
	"testing"

	"github.com/scanfree/scanfree/daemon/broker"
	"github.com/scanfree/scanfree/daemon/idp"
)

type fakeID struct{}

func (fakeID) Me(context.Context) (idp.Profile, error) {
	return idp.Profile{Nickname: "Alice", HeadImgURL: "https://a/x.png"}, nil
}
func (fakeID) Fresh(context.Context) (idp.Profile, error) { return idp.Profile{Nickname: "Alice"}, nil }
func (fakeID) App(context.Context, string) (idp.App, error) {
	return idp.App{AppID: "wx1", Name: "Demo", FastLogin: true}, nil
}
func (fakeID) Check(context.Context, idp.SignInRequest) (idp.App, error) {
	return idp.App{AppID: "wx1", Name: "Demo", FastLogin: true}, nil
}
func (fakeID) Authorize(context.Context, idp.SignInRequest) (string, error) { return "", nil }
func (fakeID) Declined(context.Context, idp.SignInRequest, string) error    { return nil }

type openGate struct{}

func (openGate) Closed() string { return "" }

// BenchmarkCheckLoginHandler measures the handler without TLS and HTTP.
func BenchmarkCheckLoginHandler(b *testing.B) {
	s := New(Config{Domain: "scanfree.localhost", TrustedOrigins: []string{"http://idp.localhost"}, CheckLoginRate: 1e9}, fakeID{}, broker.New(broker.Config{}), openGate{})
	body := []byte(`{"apiname":"qrconnectchecklogin","jsdata":{"appid":"wx1","scope":"snsapi_login","redirect_uri":"https://rp.example/cb","state":"s"}}`)
	for b.Loop() {
		s.checkLogin(context.Background(), "http://idp.localhost", body)
	}
}
