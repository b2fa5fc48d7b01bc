package cli

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scanfree/scanfree/certs"
	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/daemon/dialog"
	"github.com/scanfree/scanfree/internal/version"
)

// check is one line of the doctor's checklist. A warning is something
// scan-free sign-in works without, in a lesser way (no dialog: answer from
// the tray); it does not fail the doctor.
type check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	Warn bool   `json:"warn,omitempty"`
	Info string `json:"info"`
	Fix  string `json:"fix,omitempty"`
}

func (a *app) doctorCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check everything scan-free login needs and say how to fix what fails",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks := a.diagnose(cmd.Context())
			failed := 0
			for _, c := range checks {
				if !c.OK && !c.Warn {
					failed++
				}
			}
			err := a.print(checks, func(w io.Writer) {
				for _, c := range checks {
					mark := "ok  "
					switch {
					case !c.OK && c.Warn:
						mark = "warn"
					case !c.OK:
						mark = "FAIL"
					}
					fmt.Fprintf(w, "[%s] %-22s %s\n", mark, c.Name, c.Info)
					if c.Fix != "" {
						fmt.Fprintf(w, "       fix: %s\n", c.Fix)
					}
				}
			})
			if err == nil && failed > 0 {
				return fmt.Errorf("%d of %d checks failed", failed, len(checks))
			}
			return err
		},
	}
}

func (a *app) diagnose(ctx context.Context) []check {
	var out []check
	add := func(name string, ok bool, info, fix string) {
		if ok {
			fix = ""
		}
		out = append(out, check{Name: name, OK: ok, Info: info, Fix: fix})
	}
	warn := func(name string, ok bool, info, fix string) {
		add(name, ok, info, fix)
		out[len(out)-1].Warn = true
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()

	st, err := a.client().Status(ctx)
	running := err == nil
	this := version.String()
	switch {
	case !running || st.Version == this:
		add("version", true, this, "")
	case st.Version == "":
		add("version", false, "this scanfreed is "+this+"; the running daemon is older and does not say which",
			"restart the daemon so it runs this build (scanfreed service restart, or stop it and run scanfreed run)")
	default:
		add("version", false, "this scanfreed is "+this+"; the running daemon is "+st.Version,
			"restart the daemon so it runs this build (scanfreed service restart, or stop it and run scanfreed run)")
	}
	add("daemon running", running, errOr(err, "control socket "+a.client().Socket()), "start it: `scanfreed run` (or `scanfreed service start`)")
	domain := certs.DefaultDomain
	if running {
		domain = st.Domain
	}

	addrs, err := net.DefaultResolver.LookupHost(ctx, domain)
	loop := err == nil && len(addrs) > 0
	for _, ad := range addrs {
		if ip := net.ParseIP(ad); ip == nil || !ip.IsLoopback() {
			loop = false
		}
	}
	add("domain is loopback", loop, fmt.Sprintf("%s → %v %s", domain, addrs, errOr(err, "")), "make "+domain+" resolve to 127.0.0.1 and ::1 (e.g. in /etc/hosts); browsers resolve *.localhost themselves")

	ca, err := certs.LoadCA(a.stateDir)
	if err != nil {
		add("certificate", false, err.Error(), "run `scanfreed certs install`")
	} else {
		trusted := certs.TrustedIn(a.stateDir, ca.Cert)
		add("CA trusted", len(trusted) > 0, fmt.Sprintf("in %d store(s)", len(trusted)), "run `scanfreed certs install`")
		leaf, err := certs.ReadCertificate(certs.PathsIn(a.stateDir).LeafCert)
		if err != nil {
			add("certificate", false, err.Error(), "run `scanfreed certs create`")
		} else {
			left := time.Until(leaf.NotAfter)
			add("certificate", left > certs.RenewBefore, "valid until "+leaf.NotAfter.Format(time.DateOnly), "run `scanfreed certs create` (the daemon also renews it daily)")
		}
	}

	if running {
		pool := x509.NewCertPool()
		if ca != nil {
			pool.AddCert(ca.Cert)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(st.Port))
		conn, err := (&tls.Dialer{Config: &tls.Config{RootCAs: pool, ServerName: st.Domain}}).DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
		}
		add("port serves TLS", err == nil, fmt.Sprintf("https://%s:%d %s", st.Domain, st.Port, errOr(err, "")), "see the daemon's log; another program may answer on the port")

		req, _ := http.NewRequestWithContext(ctx, "GET", st.Backend+"/healthz", nil)
		hc := &http.Client{Timeout: 3 * time.Second}
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		add("backend reachable", err == nil && resp.StatusCode == 200, st.Backend+" "+errOr(err, ""), "check backend_url and that the identity backend (scanfree-server) runs")
		add("signed in", st.SignedIn, accountInfo(st), "run `scanfreed login`")
		warn("lock detection", st.Lock != "unknown", st.Lock+" "+st.LockDetail, "without it, use `scanfreed pause` when you leave the desk")
		// The dialog as the daemon finds it in its session, not as this
		// terminal (an ssh session, say) would.
		warn("dialog", st.DialogProblem == "", cmp.Or(st.Dialog, st.DialogProblem), dialogFix(st.DialogProblem))
		return out
	}
	prog, err := dialog.Program()
	warn("dialog", err == nil, cmp.Or(prog, errOr(err, ""))+" (as this terminal finds it; the daemon is not running)", dialogFix(errOr(err, "")))
	return out
}

// dialogFix is what to do about the dialog's problem: a desktop session
// for a daemon without a display, a dialog program for one without.
func dialogFix(problem string) string {
	if strings.Contains(problem, "no graphical display") {
		return "run the daemon in your desktop session (scanfreed service install), or answer from the tray or with `scanfreed pending` and `scanfreed approve ID`"
	}
	return "install zenity (apt install zenity), or answer from the tray or with `scanfreed approve`"
}

func accountInfo(st control.Status) string {
	if st.Account != nil {
		return st.Account.Nickname + " (" + st.Account.Username + ")"
	}
	return ""
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}
