package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/pgtest"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// signInOnce mints a code with cred at one base and exchanges it at
// another; it returns the token, or an error when either replica failed.
func (c *cluster) signInOnce(mintAt, exchangeAt, cred string) (tokenAnswer, error) {
	req, _ := http.NewRequest("POST", mintAt+"/api/v1/device/authorize",
		strings.NewReader(`{"appid":"`+c.app.AppID+`","scope":"snsapi_login","redirect_uri":"`+replicaRedirect+`","state":"s"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+cred)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return tokenAnswer{}, err
	}
	var ar struct {
		RedirectURL string `json:"redirect_url"`
	}
	json.NewDecoder(resp.Body).Decode(&ar)
	resp.Body.Close()
	u, err := url.Parse(ar.RedirectURL)
	if err != nil || u.Query().Get("code") == "" {
		return tokenAnswer{}, fmt.Errorf("authorize: %d", resp.StatusCode)
	}
	tok, err := c.exchange(exchangeAt, u.Query().Get("code"))
	if err == nil && tok.AccessToken == "" {
		err = fmt.Errorf("exchange: errcode %d", tok.ErrCode)
	}
	return tok, err
}

// TestReplicaKilledDuringBurst SIGKILLs one of three replicas while
// enrolments and sign-ins run across all of them: the other two keep
// answering, and every device and token whose creation was acknowledged,
// by whichever replica, is there afterwards.
func TestReplicaKilledDuringBurst(t *testing.T) {
	c := startCluster(t, pgtest.DSN(t), 3)
	web := c.login(c.r(0).url)
	cred := enrolOnce([3]string{c.r(0).url, c.r(1).url, c.r(2).url}, web, "laptop")
	if cred == "" {
		t.Fatal("enrolment failed before the burst")
	}
	victim := c.r(2)

	var mu sync.Mutex
	var creds []string
	var tokens []tokenAnswer
	afterKill := 0
	killed := false
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var ok bool
				if w%2 == 0 {
					if cr := enrolOnce([3]string{c.r(i).url, c.r(i + 1).url, c.r(i + 2).url}, web, fmt.Sprintf("dev-%d-%d", w, i)); cr != "" {
						mu.Lock()
						creds = append(creds, cr)
						mu.Unlock()
						ok = true
					}
				} else if tok, err := c.signInOnce(c.r(i).url, c.r(i+1).url, cred); err == nil {
					mu.Lock()
					tokens = append(tokens, tok)
					mu.Unlock()
					ok = true
				}
				mu.Lock()
				if ok && killed {
					afterKill++
				}
				mu.Unlock()
			}
		})
	}
	testutil.Eventually(t, 60*time.Second, "20 enrolments and 20 sign-ins", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(creds) >= 20 && len(tokens) >= 20
	})
	victim.proc.Cmd.Process.Signal(syscall.SIGKILL)
	victim.proc.Wait(t, 10*time.Second)
	mu.Lock()
	killed = true
	mu.Unlock()
	testutil.Eventually(t, 30*time.Second, "30 more successes on the two survivors", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return afterKill >= 30
	})
	close(stop)
	wg.Wait()

	t.Logf("acknowledged: %d devices, %d tokens (%d after the kill)", len(creds), len(tokens), afterKill)
	for i, cr := range creds {
		if status, body := send(t, nil, "GET", c.r(i%2).url+"/api/v1/device/me", "", "", http.Header{"Authorization": {"Bearer " + cr}}); status != 200 {
			t.Fatalf("an acknowledged device is gone: %d %s", status, body)
		}
	}
	for i, tok := range tokens {
		if nick, code := userinfo(t, c.r(i%2).url, tok); nick != "Alice" {
			t.Fatalf("an acknowledged token does not work: %q errcode %d", nick, code)
		}
	}
}

// privateCluster is a cluster on a PostgreSQL server of the test's own,
// which the test may stop and restart.
func privateCluster(t *testing.T, n int, args ...string) (*cluster, *pgtest.Server) {
	t.Helper()
	pg := pgtest.StartServer(t)
	dsn, drop, err := pgtest.Create(context.Background(), pg.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	_ = drop // the server and its files go with the test
	return startCluster(t, dsn, n, args...), pg
}

// TestPostgresRestartWhileWaiting restarts PostgreSQL while a long poll
// waits on every replica: each replica is ready again within 5 s, and a
// confirmation made after the restart, on another replica, still reaches
// each waiting page.
func TestPostgresRestartWhileWaiting(t *testing.T) {
	c, pg := privateCluster(t, 3, "--poll-timeout", "60s")
	cred := enrolOnce([3]string{c.r(0).url, c.r(1).url, c.r(2).url}, c.login(c.r(0).url), "laptop")
	type waiting struct {
		uuid, key string
		got       chan pollAnswer
	}
	var polls []waiting
	for i := range 3 {
		uuid, key := c.qrTicket(c.r(i).url)
		p := waiting{uuid, key, make(chan pollAnswer, 1)}
		go func() {
			a, err := poll(c.r(i).url, uuid, key, 408)
			if err != nil {
				t.Error(err)
			}
			p.got <- a
		}()
		c.r(i).waitPolling(t, 1)
		polls = append(polls, p)
	}

	pg.Restart()
	restarted := time.Now()
	testutil.Eventually(t, 5*time.Second, "every replica ready within 5 s of the restart", func() bool {
		for _, r := range c.replicas {
			if resp, err := http.Get(r.url + "/readyz"); err != nil || resp.Body.Close() != nil || resp.StatusCode != 200 {
				return false
			}
		}
		return true
	})
	t.Logf("all replicas ready %s after the restart", time.Since(restarted).Round(time.Millisecond))
	for i, p := range polls {
		confirmAt := c.r(i + 1).url
		testutil.Eventually(t, 5*time.Second, "a confirmation accepted", func() bool {
			req, _ := http.NewRequest("POST", confirmAt+"/api/v1/device/qr/"+p.uuid+"/confirm", nil)
			req.Header.Set("Authorization", "Bearer "+cred)
			resp, err := http.DefaultClient.Do(req)
			return err == nil && resp.Body.Close() == nil && resp.StatusCode == 200
		})
		select {
		case a := <-p.got:
			if a.ErrCode != 404 && a.ErrCode != 405 {
				t.Fatalf("the page waiting on replica %d got %+v", i+1, a)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the page waiting on replica %d never heard of the confirmation made on replica %d", i+1, (i+1)%3+1)
		}
	}
}

// TestStartWhileDatabaseDown starts a replica while PostgreSQL is down: it
// logs that it is retrying, /healthz says up and /readyz not ready, and it
// serves once the database is back.
func TestStartWhileDatabaseDown(t *testing.T) {
	pg := pgtest.StartServer(t)
	dsn, _, err := pgtest.Create(context.Background(), pg.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	pg.Stop()
	bin := testutil.Build(t, "./cmd/scanfree-server")
	addr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	ops := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	p := testutil.Start(t, nil, bin, "serve", "--db", dsn, "--addr", addr, "--public-url", "http://"+addr, "--metrics-addr", ops)
	testutil.Eventually(t, 15*time.Second, "a retry logged", func() bool {
		return strings.Contains(p.Stderr.String(), "database unreachable; retrying")
	})
	if status, _ := send(t, nil, "GET", "http://"+addr+"/healthz", "", "", nil); status != 200 {
		t.Fatalf("/healthz while the database is down: %d, want 200 (the process is up)", status)
	}
	// The public listener says only that it is not ready; the reason,
	// which names the database's user, host and port, is for operators.
	u, _ := url.Parse(dsn)
	status, body := send(t, nil, "GET", "http://"+addr+"/readyz", "", "", nil)
	if status != 503 || strings.TrimSpace(string(body)) != "not ready" {
		t.Fatalf("public /readyz while the database is down: %d %q, want just \"not ready\"", status, body)
	}
	status, body = send(t, nil, "GET", "http://"+ops+"/readyz", "", "", nil)
	if status != 503 || !strings.Contains(string(body), u.Port()) {
		t.Fatalf("monitoring /readyz while the database is down: %d %q, want the reason", status, body)
	}
	if status, _ := send(t, nil, "GET", "http://"+addr+"/connect/qrconnect", "", "", nil); status != 503 {
		t.Fatalf("a page while the database is down: %d, want 503", status)
	}
	pg.Start()
	testutil.Eventually(t, 15*time.Second, "ready once the database is back", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		return err == nil && resp.Body.Close() == nil && resp.StatusCode == 200
	})
	if status, body := send(t, nil, "POST", "http://"+addr+"/oauth2/device_authorization", "application/x-www-form-urlencoded",
		"client_id=scanfree-desktop&device_name=x", nil); status != 200 {
		t.Fatalf("a write after the database came back: %d %s", status, body)
	}
}
