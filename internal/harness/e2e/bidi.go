package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// Firefox is a headless Firefox driven over WebDriver BiDi, its built-in
// remote protocol (no geckodriver): just the commands the tests use.
type Firefox struct {
	t    testing.TB
	ws   *websocket.Conn
	next atomic.Int64
	mu   sync.Mutex
	wait map[int64]chan bidiReply
	// Top is the top-level browsing context.
	Top  string
	shot string
	n    int
}

type bidiReply struct {
	Type   string          `json:"type"`
	ID     int64           `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
	Msg    string          `json:"message"`
}

// FirefoxProfile makes a Firefox profile in home with an empty NSS
// database, where `scanfreed certs install` (with HOME=home) adds the root,
// and preferences that keep Firefox off the network.
func FirefoxProfile(t testing.TB, home string) string {
	t.Helper()
	dir := filepath.Join(home, ".mozilla", "firefox", "scanfree.test")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("certutil", "-N", "-d", "sql:"+dir, "--empty-password").CombinedOutput(); err != nil {
		t.Fatalf("certutil -N: %v %s", err, out)
	}
	ini := "[Profile0]\nName=test\nIsRelative=1\nPath=scanfree.test\nDefault=1\n\n[General]\nStartWithLastProfile=1\n"
	os.WriteFile(filepath.Join(home, ".mozilla", "firefox", "profiles.ini"), []byte(ini), 0o600)
	prefs := []string{
		`user_pref("app.update.enabled", false);`, `user_pref("browser.shell.checkDefaultBrowser", false);`,
		`user_pref("datareporting.policy.dataSubmissionEnabled", false);`, `user_pref("toolkit.telemetry.enabled", false);`,
		`user_pref("network.captive-portal-service.enabled", false);`, `user_pref("network.connectivity-service.enabled", false);`,
		`user_pref("browser.safebrowsing.malware.enabled", false);`, `user_pref("browser.safebrowsing.phishing.enabled", false);`,
		`user_pref("extensions.update.enabled", false);`, `user_pref("browser.search.update", false);`,
		// Trust comes from the profile's cert9.db only, as for a person:
		`user_pref("security.enterprise_roots.enabled", false);`,
	}
	os.WriteFile(filepath.Join(dir, "user.js"), []byte(strings.Join(prefs, "\n")+"\n"), 0o600)
	return dir
}

var bidiListening = regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)

// StartFirefox starts headless firefox-esr on profile and opens a BiDi
// session; the test's cleanup ends both.
func StartFirefox(t testing.TB, home, profile string) *Firefox {
	t.Helper()
	testutil.NeedTools(t, "firefox-esr")
	cmd := exec.Command("firefox-esr", "--headless", "--no-remote", "--profile", profile, "--remote-debugging-port", "0", "about:blank")
	cmd.Env = append(os.Environ(), append(testutil.NoSessionBus, "HOME="+home, "MOZ_CRASHREPORTER_DISABLE=1")...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start firefox: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := bidiListening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	var url string
	select {
	case url = <-addr:
	case <-time.After(60 * time.Second):
		t.Fatal("firefox did not start its WebDriver BiDi listener within 60 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url+"/session", nil)
	if err != nil {
		t.Fatalf("connect to firefox's BiDi: %v", err)
	}
	ws.SetReadLimit(64 << 20) // screenshots
	f := &Firefox{t: t, ws: ws, wait: map[int64]chan bidiReply{}}
	go f.read()
	t.Cleanup(func() { ws.Close(websocket.StatusNormalClosure, "") })
	f.Call("session.new", map[string]any{"capabilities": map[string]any{}}, nil)
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	f.Call("browsingContext.getTree", map[string]any{}, &tree)
	if len(tree.Contexts) == 0 {
		t.Fatal("firefox has no browsing context")
	}
	f.Top = tree.Contexts[0].Context
	dir := os.Getenv("SCANFREE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	f.shot = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
	os.MkdirAll(f.shot, 0o755)
	return f
}

func (f *Firefox) read() {
	for {
		_, b, err := f.ws.Read(context.Background())
		if err != nil {
			return
		}
		var r bidiReply
		if json.Unmarshal(b, &r) != nil || r.Type == "event" {
			continue
		}
		f.mu.Lock()
		ch := f.wait[r.ID]
		delete(f.wait, r.ID)
		f.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
}

// Call sends a BiDi command and decodes its result into out (may be nil);
// an error fails the test.
func (f *Firefox) Call(method string, params any, out any) {
	f.t.Helper()
	if err := f.call(method, params, out); err != nil {
		f.t.Fatalf("%s: %v (screenshot %s)", method, err, f.Screenshot("failed"))
	}
}

func (f *Firefox) call(method string, params any, out any) error {
	id := f.next.Add(1)
	ch := make(chan bidiReply, 1)
	f.mu.Lock()
	f.wait[id] = ch
	f.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return err
	}
	select {
	case r := <-ch:
		if r.Type == "error" {
			return fmt.Errorf("%s: %s", r.Error, r.Msg)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no answer within 30 s")
	}
}

// Navigate loads url in the top context and waits for it.
func (f *Firefox) Navigate(url string) {
	f.t.Helper()
	f.Call("browsingContext.navigate", map[string]any{"context": f.Top, "url": url, "wait": "complete"}, nil)
}

// Eval evaluates a JavaScript expression in context (the top one when
// "") and returns its value as JSON text ("" when it threw).
func (f *Firefox) Eval(context, expr string) string {
	f.t.Helper()
	if context == "" {
		context = f.Top
	}
	var r struct {
		Type   string          `json:"type"`
		Result json.RawMessage `json:"result"`
	}
	if err := f.call("script.evaluate", map[string]any{"expression": "JSON.stringify(" + expr + ")", "target": map[string]any{"context": context},
		"awaitPromise": true}, &r); err != nil || r.Type != "success" {
		return ""
	}
	var v struct {
		Value string `json:"value"`
	}
	json.Unmarshal(r.Result, &v)
	return v.Value
}

// Frame returns the context of the top page's first iframe whose URL
// contains part, waiting up to 20 s for it.
func (f *Firefox) Frame(part string) string {
	f.t.Helper()
	var id string
	testutil.Eventually(f.t, 20*time.Second, "an iframe on "+part, func() bool {
		var tree struct {
			Contexts []struct {
				Children []struct {
					Context string `json:"context"`
					URL     string `json:"url"`
				} `json:"children"`
			} `json:"contexts"`
		}
		if f.call("browsingContext.getTree", map[string]any{"root": f.Top}, &tree) != nil || len(tree.Contexts) == 0 {
			return false
		}
		for _, c := range tree.Contexts[0].Children {
			if strings.Contains(c.URL, part) {
				id = c.Context
				return true
			}
		}
		return false
	})
	return id
}

// Until waits up to d for the expression to be true in context.
func (f *Firefox) Until(context, what, expr string, d time.Duration) {
	f.t.Helper()
	deadline := time.Now().Add(d)
	for f.Eval(context, expr) != "true" {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out after %v waiting for %s (screenshot %s)", d, what, f.Screenshot("failed"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Screenshot saves the top context's viewport as step N-name.png.
func (f *Firefox) Screenshot(name string) string {
	f.n++
	var r struct {
		Data string `json:"data"`
	}
	if err := f.call("browsingContext.captureScreenshot", map[string]any{"context": f.Top}, &r); err != nil {
		return ""
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		return ""
	}
	path := filepath.Join(f.shot, fmt.Sprintf("%02d-%s.png", f.n, name))
	os.WriteFile(path, png, 0o644)
	return path
}

// PNG returns a screenshot of the top context.
func (f *Firefox) PNG() []byte {
	var r struct {
		Data string `json:"data"`
	}
	if f.call("browsingContext.captureScreenshot", map[string]any{"context": f.Top}, &r) != nil {
		return nil
	}
	b, _ := base64.StdEncoding.DecodeString(r.Data)
	return b
}
