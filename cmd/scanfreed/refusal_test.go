package main

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/certs"
	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestRefusalsOverHTTP2AndHTTP1 sends refused requests with a body (a
// foreign Origin, a rebinding Host) with curl, 50 times each over HTTP/2
// and HTTP/1.1: every one must read as a clean 403. Answering before the
// body was read used to reset the HTTP/2 stream under curl ("Stream error
// in the HTTP/2 framing layer", exit 92).
func TestRefusalsOverHTTP2AndHTTP1(t *testing.T) {
	testutil.NeedTools(t, "curl")
	b, d := signedIn(t)
	port := strconv.Itoa(d.Port)
	base := "https://scanfree.localhost:" + port
	body := e2e.CheckLoginBody(b.App.AppID) + strings.Repeat(" ", 12<<10) // several DATA frames, under MaxBody
	for _, proto := range []string{"--http2", "--http1.1"} {
		for name, h := range map[string][]string{
			"foreign Origin": {"-H", "Origin: https://evil.example"},
			"rebinding Host": {"-H", "Origin: " + d.Origin, "-H", "Host: evil.example:" + port},
		} {
			t.Run(proto+" "+name, func(t *testing.T) {
				want := "403 " + map[string]string{"--http2": "2", "--http1.1": "1.1"}[proto]
				for i := range 50 {
					args := append([]string{"-sS", proto, "--cacert", filepath.Join(d.StateDir, certs.RootCertFile),
						"--resolve", "scanfree.localhost:" + port + ":127.0.0.1", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
						"-H", "Content-Type: application/json", "--data-binary", "@-"}, h...)
					out, errOut, err := testutil.Run(context.Background(), nil, body, "curl", append(args, base+"/api/check-login")...)
					if err != nil || out != want {
						t.Fatalf("try %d: curl answered %q (want %q): %v %s", i+1, out, want, err, errOut)
					}
				}
			})
		}
	}
}
