package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/harness/system"
)

// QROptions tune the QR benchmark.
type QROptions struct {
	Tickets int // for push latency (1,000)
	Polls   int // concurrent waiting long polls (20,000)
}

// QR measures how fast a confirmation reaches the waiting long poll, and
// how many waiting long polls one backend process holds in 1 GiB.
func QR(ctx context.Context, w io.Writer, opts QROptions) error {
	if err := qrLatency(ctx, w, opts.Tickets); err != nil {
		return err
	}
	return qrMemory(ctx, w, opts.Polls)
}

type ticketJSON struct {
	UUID string `json:"uuid"`
	Key  string `json:"key"`
}

func newTicket(c *http.Client, base, appID string) (ticketJSON, error) {
	body := `{"appid":"` + appID + `","redirect_uri":"` + benchRedirect + `","scope":"snsapi_login","state":"s"}`
	resp, err := c.Post(base+"/connect/qrticket", "application/json", strings.NewReader(body))
	if err != nil {
		return ticketJSON{}, err
	}
	defer resp.Body.Close()
	var t ticketJSON
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || t.UUID == "" {
		return t, fmt.Errorf("qrticket: %v", err)
	}
	return t, nil
}

func pollURL(base string, t ticketJSON, last int) string {
	return base + "/connect/l/qrconnect?" + url.Values{"uuid": {t.UUID}, "key": {t.Key}, "last": {strconv.Itoa(last)}}.Encode()
}

// qrLatency confirms tickets from an enrolled desktop while the page's
// long poll waits, and measures from the confirm request to the poll's
// answer (this includes minting the code, one database write).
func qrLatency(ctx context.Context, w io.Writer, n int) error {
	// One load driver is one client address: the per-client ticket limit is lifted.
	sv, err := serve(ctx, server.Config{QRTTL: 10 * time.Minute, TicketsPerMinute: 1 << 30, PollsPerAddress: 1 << 30})
	if err != nil {
		return err
	}
	defer sv.close()
	st, app, base := sv.st, sv.app, sv.url
	cred, err := enrolDevice(ctx, base, st)
	if err != nil {
		return err
	}
	lat, confirmRTT, err := pushLatency(ctx, app.AppID, cred, n, base, base, base)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n== QR status push (confirm → waiting long poll answered), %d tickets ==\n", n)
	fmt.Fprintf(w, "push latency:  p50 %v  p99 %v   (confirm request round trip p50 %v, which includes minting the code)\n",
		round(lat[len(lat)/2]), round(lat[len(lat)*99/100]), round(confirmRTT[len(confirmRTT)/2]))
	return nil
}

// pushLatency creates n tickets at createAt, long-polls each at pollAt and
// confirms it at confirmAt with the device credential cred; it returns,
// sorted, the time from the confirm request to the poll's answer and the
// confirm request's own round trip.
func pushLatency(ctx context.Context, appID, cred string, n int, createAt, pollAt, confirmAt string) (lat, confirmRTT []time.Duration, err error) {
	c := Client(4)
	defer c.CloseIdleConnections()
	for range n {
		t, err := newTicket(c, createAt, appID)
		if err != nil {
			return nil, nil, err
		}
		answered := make(chan time.Time, 1)
		go func() {
			last := 408
			for {
				resp, err := c.Get(pollURL(pollAt, t, last))
				if err != nil {
					answered <- time.Time{}
					return
				}
				var s struct {
					ErrCode int `json:"errcode"`
				}
				json.NewDecoder(resp.Body).Decode(&s)
				resp.Body.Close()
				if s.ErrCode == 405 {
					answered <- time.Now()
					return
				}
				last = s.ErrCode
			}
		}()
		time.Sleep(2 * time.Millisecond) // the poll is on its way; if it is not yet waiting it answers at once anyway
		req, _ := http.NewRequestWithContext(ctx, "POST", confirmAt+"/api/v1/device/qr/"+t.UUID+"/confirm", bytes.NewReader([]byte("{}")))
		req.Header.Set("Authorization", "Bearer "+cred)
		req.Header.Set("Content-Type", "application/json")
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return nil, nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		rtt := time.Since(t0)
		at := <-answered
		if at.IsZero() || resp.StatusCode != 200 {
			return nil, nil, fmt.Errorf("ticket %s: confirm %s, poll failed", t.UUID, resp.Status)
		}
		lat = append(lat, at.Sub(t0))
		confirmRTT = append(confirmRTT, rtt)
	}
	slices.Sort(lat)
	slices.Sort(confirmRTT)
	return lat, confirmRTT, nil
}

// enrolDevice runs the device flow, approved in the store, and returns
// the credential.
func enrolDevice(ctx context.Context, base string, st storage.Storage) (string, error) {
	resp, err := http.PostForm(base+"/oauth2/device_authorization", url.Values{"client_id": {deviceapi.ClientID}, "device_name": {"bench"}, "os": {"linux"}})
	if err != nil {
		return "", err
	}
	var da struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
	}
	json.NewDecoder(resp.Body).Decode(&da)
	resp.Body.Close()
	if _, err := admin.ApproveDevice(ctx, st, "alice", da.UserCode, time.Now()); err != nil {
		return "", err
	}
	resp, err = http.PostForm(base+"/oauth2/token", url.Values{"grant_type": {deviceapi.GrantTypeDeviceCode}, "client_id": {deviceapi.ClientID}, "device_code": {da.DeviceCode}})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	if tok.AccessToken == "" {
		return "", fmt.Errorf("device enrolment failed: %s", resp.Status)
	}
	return tok.AccessToken, nil
}

// qrMemory opens n waiting long polls, each on its own connection, against
// a scanfree-server process and reads that process's RSS.
func qrMemory(ctx context.Context, w io.Writer, n int) error {
	if limit := raiseFileLimit(); n > limit-500 {
		fmt.Fprintf(w, "\n(open-file limit %d per process here: measuring %d polls instead of %d and extrapolating)\n", limit, limit-500, n)
		n = limit - 500
	}
	dir, err := os.MkdirTemp("", "sfb")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b, err := system.NewBackend(ctx, system.BackendOptions{DB: filepath.Join(dir, "qr.db"), PublicHost: "idp.localhost",
		Args: []string{"--qr-ttl", "10m", "--poll-timeout", "25s", "--tickets-per-minute", "1000000000", "--polls-per-address", "1000000000", "--log-level", "error"}}) // one driver, one address
	if err != nil {
		return err
	}
	app, err := b.CreateApp(ctx, "Bench", "--redirect-uri", benchRedirect)
	if err != nil {
		return err
	}
	if err := b.Start(ctx); err != nil {
		return err
	}
	defer b.Proc.Kill()
	base, cmd := b.URL, b.Proc.Cmd
	c := Client(8)
	tickets := make([]ticketJSON, n)
	for i := range tickets {
		if tickets[i], err = newTicket(c, base, app.AppID); err != nil {
			return fmt.Errorf("ticket %d: %w", i, err)
		}
	}
	c.CloseIdleConnections()
	before, _ := rssKB(cmd.Process.Pid)
	var wg sync.WaitGroup
	conns := make([]net.Conn, n)
	var openErr error
	var mu sync.Mutex
	sem := make(chan struct{}, 256)
	for i, t := range tickets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			conn, err := net.Dial("tcp", b.Addr)
			if err == nil {
				u := pollURL("", t, 408)
				_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", u)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && openErr == nil {
				openErr = err
			}
			conns[i] = conn
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	if openErr != nil {
		return fmt.Errorf("open %d long polls: %w", n, openErr)
	}
	// Let the server read every request into its waiting handler; then the
	// footprint is steady.
	time.Sleep(3 * time.Second)
	after, _ := rssKB(cmd.Process.Pid)
	per := float64(after-before) * 1024 / float64(n)
	fmt.Fprintf(w, "\n== waiting long polls held by one scanfree-server ==\n")
	fmt.Fprintf(w, "%d waiting polls: RSS %.1f MiB → %.1f MiB, %.1f KiB per waiting poll\n", n, float64(before)/1024, float64(after)/1024, per/1024)
	fmt.Fprintf(w, "≈ %d waiting polls within 1 GiB (target >= 20,000)\n", int(float64(1<<30-before*1024)/per))
	return nil
}

// raiseFileLimit lifts the limit on open files for this process and the
// server it starts, to 200,000 where allowed, else to the hard limit, and
// returns the limit in force.
func raiseFileLimit() int {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil {
		return 1024
	}
	want := syscall.Rlimit{Cur: 200_000, Max: max(l.Max, 200_000)}
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) != nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
	return int(l.Cur)
}
