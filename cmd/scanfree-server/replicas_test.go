package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/pgtest"
	"github.com/scanfree/scanfree/internal/harness/system"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// The tests here run several scanfree-server processes on one PostgreSQL
// database and send each step of a flow to a different one, as a load
// balancer would.

const replicaRedirect = "http://shop.localhost:8081/callback"

// replica is a server of a cluster, with its monitoring address.
type replica struct {
	*backend
	metrics string // http://127.0.0.1:port
}

type cluster struct {
	t        *testing.T
	dsn      string
	replicas []*replica
	app      struct{ AppID, Secret string }
}

// startCluster starts n replicas on dsn, all with one public URL, and
// registers an app and the user alice through the first.
func startCluster(t *testing.T, dsn string, n int, args ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, dsn: dsn}
	metrics := make([]string, n)
	for i := range metrics {
		metrics[i] = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	}
	// The tests are many desktops behind one address: the per-address
	// enrolment limit is lifted (backend/server tests it).
	servers, err := system.StartReplicas(t.Context(), system.ReplicaOptions{DB: dsn, N: n,
		PublicURL: fmt.Sprintf("http://idp.localhost:%d", testutil.FreePort(t)),
		Args:      append([]string{"--log-level", "warn", "--device-auths-per-minute", "1000000", "--max-desktops", "1000000", "--password-signin=on"}, args...),
		Each:      func(i int) []string { return []string{"--metrics-addr", metrics[i]} }})
	if err != nil {
		t.Fatal(err)
	}
	for i, sb := range servers {
		testutil.Own(t, sb.Proc)
		b := &backend{t: t, bin: sb.Bin, db: sb.DB, addr: sb.Addr, url: sb.URL, proc: &testutil.Proc{Proc: sb.Proc}}
		c.replicas = append(c.replicas, &replica{backend: b, metrics: "http://" + metrics[i]})
	}
	r0 := c.replicas[0]
	json.Unmarshal([]byte(r0.cli("", "app", "create", "--name", "Demo Shop", "--redirect-uri", replicaRedirect, "--json")), &c.app)
	if err := servers[0].CreatePeople(t.Context(), false, "alice"); err != nil {
		t.Fatal(err)
	}
	return c
}

// r is replica i, counting round the cluster.
func (c *cluster) r(i int) *replica { return c.replicas[i%len(c.replicas)] }

// login signs alice in to the hosted pages at base and returns the client
// holding the session cookie (cookies ignore ports: every replica gets it).
func (c *cluster) login(base string) *http.Client {
	c.t.Helper()
	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	status, body := send(c.t, web, "POST", base+"/login", "application/x-www-form-urlencoded", "username=alice&password=alice-password",
		http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if status != 303 {
		c.t.Fatalf("login at %s: %d %s", base, status, body)
	}
	return web
}

// mint has the enrolled device cred sign alice in to the app at base and
// returns the code.
func (c *cluster) mint(base, cred string) string {
	c.t.Helper()
	status, body := send(c.t, nil, "POST", base+"/api/v1/device/authorize", "application/json",
		`{"appid":"`+c.app.AppID+`","scope":"snsapi_login","redirect_uri":"`+replicaRedirect+`","state":"s"}`,
		http.Header{"Authorization": {"Bearer " + cred}})
	var ar struct {
		RedirectURL string `json:"redirect_url"`
	}
	json.Unmarshal(body, &ar)
	u, err := url.Parse(ar.RedirectURL)
	if status != 200 || err != nil || u.Query().Get("code") == "" {
		c.t.Fatalf("authorize at %s: %d %s", base, status, body)
	}
	return u.Query().Get("code")
}

// tokenAnswer is the WeChat face's answer to an exchange.
type tokenAnswer = system.Token

// exchange trades code for a token at base.
func (c *cluster) exchange(base, code string) (tokenAnswer, error) {
	tok, _, err := system.Exchange(c.t.Context(), nil, base, c.app.AppID, c.app.Secret, code)
	return tok, err
}

// userinfo reads the nickname at base, or returns the errcode.
func userinfo(t *testing.T, base string, tok tokenAnswer) (string, int) {
	t.Helper()
	var ui struct {
		Nickname string `json:"nickname"`
		ErrCode  int    `json:"errcode"`
	}
	_, body := send(t, nil, "GET", base+"/sns/userinfo?"+url.Values{"access_token": {tok.AccessToken}, "openid": {tok.OpenID}}.Encode(), "", "", nil)
	json.Unmarshal(body, &ui)
	return ui.Nickname, ui.ErrCode
}

func send(t *testing.T, c *http.Client, method, u, ctype, body string, h http.Header) (int, []byte) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// metric reads one sample of a replica's /metrics, by its full name and
// labels as the text format prints them; -1 when absent.
func (r *replica) metric(t *testing.T, sample string) float64 {
	t.Helper()
	_, body := send(t, nil, "GET", r.metrics+"/metrics", "", "", nil)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

// TestReplicasShareState sends each step of enrolment and sign-in to
// another replica, races one code's exchanges across all three, and
// checks that the per-address limits count in total.
func TestReplicasShareState(t *testing.T) {
	// The test is the load balancer: 127.0.0.1 is trusted to name the client.
	c := startCluster(t, pgtest.DSN(t), 3, "--device-interval", "2s", "--tickets-per-minute", "6", "--trusted-proxies", "127.0.0.1")
	web := c.login(c.r(0).url) // a session made on replica 1 serves on the others
	var cred string

	t.Run("enrolment", func(t *testing.T) {
		cred = enrolOnce([3]string{c.r(0).url, c.r(1).url, c.r(2).url}, web, "laptop")
		if cred == "" {
			t.Fatal("enrolment started on replica 1, approved on 2 and polled on 3 gave no credential")
		}
		// The polling interval is one budget: of ten polls at once spread
		// over the replicas, one is in time and nine are told to slow down.
		_, body := send(t, nil, "POST", c.r(0).url+"/oauth2/device_authorization", "application/x-www-form-urlencoded", "client_id=scanfree-desktop&device_name=x", nil)
		var da struct {
			DeviceCode string `json:"device_code"`
		}
		json.Unmarshal(body, &da)
		var mu sync.Mutex
		answers := map[string]int{}
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				_, body := send(t, nil, "POST", c.r(i).url+"/oauth2/token", "application/x-www-form-urlencoded",
					"grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=scanfree-desktop&device_code="+da.DeviceCode, nil)
				var e struct {
					Error string `json:"error"`
				}
				json.Unmarshal(body, &e)
				mu.Lock()
				answers[e.Error]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if answers["authorization_pending"] != 1 || answers["slow_down"] != 9 {
			t.Fatalf("answers %v, want 1 authorization_pending and 9 slow_down", answers)
		}
	})

	t.Run("code minted on 1, exchanged on 2, userinfo on 3", func(t *testing.T) {
		tok, err := c.exchange(c.r(1).url, c.mint(c.r(0).url, cred))
		if err != nil || tok.AccessToken == "" {
			t.Fatalf("exchange: %+v %v", tok, err)
		}
		if nick, code := userinfo(t, c.r(2).url, tok); nick != "Alice" {
			t.Fatalf("userinfo on replica 3: %q errcode %d", nick, code)
		}
	})

	t.Run("single use", func(t *testing.T) {
		code := c.mint(c.r(0).url, cred)
		var mu sync.Mutex
		var won []tokenAnswer
		reused, other := 0, 0
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Go(func() {
				tok, err := c.exchange(c.r(i).url, code)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && tok.AccessToken != "":
					won = append(won, tok)
				case err == nil && tok.ErrCode == 40163:
					reused++
				default:
					other++
				}
			})
		}
		wg.Wait()
		if len(won) != 1 || reused != 99 || other != 0 {
			t.Fatalf("%d tokens, %d × 40163, %d other answers; want 1, 99, 0", len(won), reused, other)
		}
		// The reuse revoked what the code issued, on every replica.
		for i := range 3 {
			if nick, errcode := userinfo(t, c.r(i).url, won[0]); nick != "" || errcode == 0 {
				t.Fatalf("replica %d still honours a token of a reused code: %q %d", i+1, nick, errcode)
			}
		}
	})

	t.Run("limits count across replicas", func(t *testing.T) {
		ticket := func(i int, client string) int {
			status, _ := send(t, nil, "POST", c.r(i).url+"/connect/qrticket", "application/json",
				`{"appid":"`+c.app.AppID+`","redirect_uri":"`+replicaRedirect+`","scope":"snsapi_login","state":""}`,
				http.Header{"X-Forwarded-For": {client}})
			return status
		}
		ok, refused := 0, 0
		for i := range 9 {
			switch status := ticket(i, "198.51.100.1"); status {
			case 200:
				ok++
			case 429:
				refused++
			default:
				t.Fatalf("qrticket at replica %d: %d", i%3+1, status)
			}
		}
		if ok != 6 || refused != 3 {
			t.Fatalf("%d tickets and %d refusals from one address over 3 replicas; want 6 (the limit) and 3", ok, refused)
		}
		// Behind the load balancer each client has its own budget, and a
		// client cannot escape its own by writing X-Forwarded-For itself.
		if status := ticket(0, "198.51.100.2"); status != 200 {
			t.Fatalf("another client behind the load balancer: %d, want 200", status)
		}
		if status := ticket(1, "203.0.113.5, 198.51.100.1"); status != 429 {
			t.Fatalf("the limited client with a forged hop in front: %d, want 429", status)
		}
		c.r(0).cli("bob-password\n", "user", "create", "--username", "bob", "--nickname", "Bob", "--password-stdin")
		var statuses []int
		for i := range 7 {
			status, _ := send(t, nil, "POST", c.r(i).url+"/login", "application/x-www-form-urlencoded", "username=bob&password=wrong-password",
				http.Header{"Sec-Fetch-Site": {"same-origin"}})
			statuses = append(statuses, status)
		}
		if fmt.Sprint(statuses) != "[401 401 401 401 401 429 429]" {
			t.Fatalf("wrong passwords over 3 replicas answered %v; want 5 × 401, then 429", statuses)
		}
		// PostgreSQL refuses NUL and invalid UTF-8 in text: such input is
		// an ordinary wrong answer, not a database error.
		if status, body := send(t, nil, "POST", c.r(0).url+"/login", "application/x-www-form-urlencoded", "username=ca%00rol%FF&password=x",
			http.Header{"Sec-Fetch-Site": {"same-origin"}, "X-Forwarded-For": {"198.51.100.99"}}); status != 401 {
			t.Fatalf("a username with NUL and invalid UTF-8: %d %s", status, body)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		var minted, exchanged float64
		for _, r := range c.replicas {
			minted += max(0, r.metric(t, "scanfree_codes_minted_total"))
			exchanged += max(0, r.metric(t, `scanfree_codes_exchanged_total{result="ok"}`))
		}
		if minted != 2 || exchanged != 2 {
			t.Fatalf("replicas report %v codes minted and %v exchanged, want 2 and 2", minted, exchanged)
		}
		if v := c.r(0).metric(t, `scanfree_http_request_duration_seconds_count{route="POST /api/v1/device/authorize",status="200"}`); v != 2 {
			t.Fatalf("replica 1 counted %v authorize requests, want 2", v)
		}
		if v := c.r(1).metric(t, "scanfree_db_pool_max"); v <= 0 {
			t.Fatalf("pool figures missing: %v", v)
		}
		for _, path := range []string{"/healthz", "/readyz"} {
			if status, body := send(t, nil, "GET", c.r(2).metrics+path, "", "", nil); status != 200 {
				t.Fatalf("%s: %d %s", path, status, body)
			}
		}
		// Profiles on the operators' listener, never on the public one.
		if status, body := send(t, nil, "GET", c.r(2).metrics+"/debug/pprof/profile?seconds=1", "", "", nil); status != 200 || !bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
			t.Fatalf("a CPU profile from the metrics listener: %d, %d bytes", status, len(body))
		}
		if status, _ := send(t, nil, "GET", c.r(2).url+"/debug/pprof/", "", "", nil); status != http.StatusNotFound {
			t.Fatalf("the public listener answers /debug/pprof/ with %d, want 404", status)
		}
	})
}

// qrTicket creates a QR ticket at base and returns its uuid and poll key.
func (c *cluster) qrTicket(base string) (uuid, key string) {
	c.t.Helper()
	status, body := send(c.t, nil, "POST", base+"/connect/qrticket", "application/json",
		`{"appid":"`+c.app.AppID+`","redirect_uri":"`+replicaRedirect+`","scope":"snsapi_login","state":"st"}`, nil)
	var tk struct{ UUID, Key string }
	json.Unmarshal(body, &tk)
	if status != 200 || tk.UUID == "" {
		c.t.Fatalf("qrticket at %s: %d %s", base, status, body)
	}
	return tk.UUID, tk.Key
}

type pollAnswer struct {
	ErrCode     int    `json:"errcode"`
	Code        string `json:"code"`
	RedirectURL string `json:"redirect_url"`
}

// poll long-polls ticket uuid at base until its status differs from last.
func poll(base, uuid, key string, last int) (pollAnswer, error) {
	var a pollAnswer
	resp, err := http.Get(base + "/connect/l/qrconnect?" + url.Values{"uuid": {uuid}, "key": {key}, "last": {strconv.Itoa(last)}}.Encode())
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	return a, json.NewDecoder(resp.Body).Decode(&a)
}

// waitPolling waits until r holds n long polls.
func (r *replica) waitPolling(t *testing.T, n float64) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "a waiting long poll", func() bool { return r.metric(t, "scanfree_qr_polls_waiting") == n })
}

// TestQRPushAcrossReplicas: a ticket created on replica 1 is long-polled
// on replica 2 and confirmed by a desktop on replica 3; the waiting poll
// answers at once, not at its timeout.
func TestQRPushAcrossReplicas(t *testing.T) {
	c := startCluster(t, pgtest.DSN(t), 3, "--poll-timeout", "20s")
	cred := enrolOnce([3]string{c.r(0).url, c.r(1).url, c.r(2).url}, c.login(c.r(2).url), "laptop")
	uuid, key := c.qrTicket(c.r(0).url)
	got := make(chan pollAnswer, 1)
	go func() {
		a, err := poll(c.r(1).url, uuid, key, 408)
		if err != nil {
			t.Error(err)
		}
		got <- a
	}()
	c.r(1).waitPolling(t, 1)
	start := time.Now()
	if status, body := send(t, nil, "POST", c.r(2).url+"/api/v1/device/qr/"+uuid+"/confirm", "", "",
		http.Header{"Authorization": {"Bearer " + cred}}); status != 200 {
		t.Fatalf("confirm on replica 3: %d %s", status, body)
	}
	a := <-got
	if a.ErrCode != 404 && a.ErrCode != 405 {
		t.Fatalf("the poll on replica 2 answered %+v after %s; want scanned or confirmed, not its timeout", a, time.Since(start))
	}
	if a.ErrCode == 404 {
		if a, _ = poll(c.r(1).url, uuid, key, 404); a.ErrCode != 405 {
			t.Fatalf("second poll: %+v", a)
		}
	}
	if !strings.HasPrefix(a.RedirectURL, replicaRedirect+"?code="+a.Code) {
		t.Fatalf("confirmed poll: %+v", a)
	}
	if tok, err := c.exchange(c.r(0).url, a.Code); err != nil || tok.AccessToken == "" {
		t.Fatalf("exchange of the QR code: %+v %v", tok, err)
	}
}
