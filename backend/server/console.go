package server

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// The operator console at /admin: server-rendered pages over the same
// operations as scanfree-server's admin commands (package admin), so the
// CLI and the console cannot disagree about what "disable" means.
//
// Who may use it: a person with role admin (every page, every change) or
// auditor (every page, no change), whose password was entered at most
// ConsoleFreshness ago (an unattended signed-in browser is not an
// operator), from an address in Config.AdminAllowCIDR when that is set.
// Every change is a POST behind the server's cross-origin protection
// (Sec-Fetch-Site / Origin, see Handler) and is an audit event naming the
// operator.

// ConsoleFreshness is how old an operator's sign-in may be.
const ConsoleFreshness = 15 * time.Minute

// consoleRoutes adds the console's pages to mux.
func (s *Server) consoleRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		to := "/admin/people"
		if l := r.URL.Query().Get("lang"); l != "" { // /admin?lang=zh is a link people share
			to += "?lang=" + normLang(l)
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	})
	mux.HandleFunc("GET /admin/people", s.console(false, s.handleConsolePeople))
	mux.HandleFunc("POST /admin/people", s.console(true, s.handleConsoleCreatePerson))
	mux.HandleFunc("GET /admin/people/{username}", s.console(false, s.handleConsolePerson))
	mux.HandleFunc("POST /admin/people/{username}/{action}", s.console(true, s.handleConsolePersonAction))
	mux.HandleFunc("GET /admin/apps", s.console(false, s.handleConsoleApps))
	mux.HandleFunc("POST /admin/apps", s.console(true, s.handleConsoleCreateApp))
	mux.HandleFunc("GET /admin/apps/{appid}", s.console(false, s.handleConsoleApp))
	mux.HandleFunc("POST /admin/apps/{appid}/{action}", s.console(true, s.handleConsoleAppAction))
	mux.HandleFunc("GET /admin/desktops", s.console(false, s.handleConsoleDesktops))
	mux.HandleFunc("POST /admin/desktops/{id}/revoke", s.console(true, s.handleConsoleRevokeDesktop))
	mux.HandleFunc("GET /admin/log", s.console(false, s.handleConsoleLog))
}

// operator is who is using the console, for the audit log.
type operator struct {
	*storage.User
	addr string // the client address, for the watermark
	lang string // the console's language (consoleLang)
}

// name is how events name the operator.
func (o operator) name() string { return o.Role + " " + o.Username + " on the console" }

// consoleHandler is a console page, called once the operator is known.
type consoleHandler func(w http.ResponseWriter, r *http.Request, op operator)

// console wraps h with the console's gate: change marks a handler that
// changes something, which only an admin may call.
func (s *Server) console(change bool, h consoleHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		lang := consoleLang(w, r)
		if !s.adminAllowed(r) {
			s.log.WarnContext(r.Context(), "console refused: address not in --admin-allow-cidr", "addr", s.clientIP(r), "path", r.URL.Path)
			s.consoleMessage(w, http.StatusForbidden, operator{lang: lang}, "Not from here", "The operator console is not open to your network address. Use it from the network your administrators named in --admin-allow-cidr.")
			return
		}
		u, se, ok := s.currentSession(r)
		if !ok {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(consoleNext(r)), http.StatusSeeOther)
			return
		}
		if u.Role != storage.RoleAdmin && u.Role != storage.RoleAuditor {
			s.consoleMessage(w, http.StatusForbidden, operator{User: u, lang: lang}, "Operators only", "The operator console is for administrators and auditors. An administrator can give you a role with `scanfree-server user role`.")
			return
		}
		if s.now().Sub(se.CreatedAt) > ConsoleFreshness {
			http.Redirect(w, r, "/login?confirm=1&next="+url.QueryEscape(consoleNext(r))+"&login_hint="+url.QueryEscape(u.Username), http.StatusSeeOther)
			return
		}
		if change && u.Role != storage.RoleAdmin {
			s.log.WarnContext(r.Context(), "console change refused: not an admin", "user", u.Username, "role", u.Role, "path", r.URL.Path)
			s.consoleMessage(w, http.StatusForbidden, operator{User: u, lang: lang}, "Read only", "Auditors can read the console but change nothing. Ask an administrator.")
			return
		}
		h(w, r, operator{u, s.clientIP(r), lang})
	}
}

// consoleNext is where to come back to after confirming the sign-in: the
// page itself, or for a form post the page the form was on.
func consoleNext(r *http.Request) string {
	if r.Method == http.MethodGet {
		return r.URL.RequestURI()
	}
	return "/admin"
}

// adminAllowed reports whether r comes from an address the console is open to.
func (s *Server) adminAllowed(r *http.Request) bool {
	if len(s.cfg.AdminAllowCIDR) == 0 {
		return true
	}
	addr, err := netip.ParseAddr(s.clientIP(r))
	if err != nil {
		return false
	}
	for _, p := range s.cfg.AdminAllowCIDR {
		if p.Contains(addr.Unmap()) {
			return true
		}
	}
	return false
}

// consolePage is what every console template gets besides its own data.
type consolePage struct {
	Section string // people, apps, desktops, log: the tab shown as current
	CanEdit bool   // the operator is an admin
	Notice  string // the outcome of the last change
	Data    any
}

// renderConsole writes a console page.
func (s *Server) renderConsole(w http.ResponseWriter, status int, name, title string, op operator, cp consolePage) {
	cp.CanEdit = op.Role == storage.RoleAdmin
	cp.Notice = tr(op.lang, cp.Notice)
	s.render(w, nil, status, name, page{Title: title, User: op.User, Data: cp, Wide: true, Lang: op.lang,
		Watermark: op.Username + " · " + op.addr})
}

// consoleMessage answers with a page that says msg under title, both
// console texts, translated for op.
func (s *Server) consoleMessage(w http.ResponseWriter, status int, op operator, title, msg string) {
	s.render(w, nil, status, "message", page{Title: tr(op.lang, title), User: op.User, Data: tr(op.lang, msg), Wide: op.User != nil, Lang: op.lang})
}

// consoleFail answers a change the console could not make: err's text is
// the admin operation's own message, written for operators.
func (s *Server) consoleFail(w http.ResponseWriter, r *http.Request, op operator, err error) {
	s.log.WarnContext(r.Context(), "console change failed", "operator", op.Username, "path", r.URL.Path, "err", err)
	s.render(w, r, http.StatusBadRequest, "message", page{Title: tr(op.lang, "Not done"), User: op.User, Data: err.Error(), Wide: true, Lang: op.lang})
}

// consoleDone sends the browser back to where after a change (POST,
// redirect, GET), with the outcome to show.
func consoleDone(w http.ResponseWriter, r *http.Request, where, notice string) {
	http.Redirect(w, r, where+"?done="+url.QueryEscape(notice), http.StatusSeeOther)
}

// consoleOutcome answers a change: its failure, or the page where with
// the notice done.
func (s *Server) consoleOutcome(w http.ResponseWriter, r *http.Request, op operator, err error, where, done string) {
	if err != nil {
		s.consoleFail(w, r, op, err)
		return
	}
	consoleDone(w, r, where, done)
}

// auditStore is the store as the console's operations see it: each audit
// event they add is also written as the structured log line every other
// event gets (signin.Service.Event).
type auditStore struct {
	storage.Storage
	s *Server
}

func (a auditStore) AddEvent(ctx context.Context, e storage.Event) error {
	a.s.signin.Logged(ctx, e)
	return a.Storage.AddEvent(ctx, e)
}

// ops is the store the console's changes go through.
func (s *Server) ops() storage.Storage { return auditStore{s.store, s} }
