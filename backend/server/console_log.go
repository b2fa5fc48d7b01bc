package server

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strconv"

	"github.com/scanfree/scanfree/backend/admin"

	"github.com/scanfree/scanfree/backend/storage"
)

// desktopView is one enrolled desktop on the desktops page.
type desktopView struct {
	storage.Device
	Username, Nickname string
}

func (s *Server) handleConsoleDesktops(w http.ResponseWriter, r *http.Request, op operator) {
	ctx := r.Context()
	devices, err := s.store.ListDevices(ctx, "")
	if err != nil {
		s.consoleFail(w, r, op, err)
		return
	}
	people, err := s.people(r)
	if err != nil {
		s.consoleFail(w, r, op, err)
		return
	}
	var v []desktopView
	for _, d := range devices {
		u := people[d.UserID]
		v = append(v, desktopView{Device: d, Username: u.Username, Nickname: u.Nickname})
	}
	s.renderConsole(w, http.StatusOK, "admin_desktops", tr(op.lang, "Desktops"), op, consolePage{Section: "desktops", Notice: notice(r), Data: v})
}

func (s *Server) handleConsoleRevokeDesktop(w http.ResponseWriter, r *http.Request, op operator) {
	d, err := s.store.GetDevice(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) {
		s.consoleMessage(w, http.StatusNotFound, op, "No such desktop", "No desktop has that id; see the Desktops page.")
		return
	}
	if err == nil {
		err = s.signin.RevokeDevice(r.Context(), d, d.Name+" revoked by "+op.name())
	}
	if err != nil {
		s.consoleFail(w, r, op, err)
		return
	}
	consoleDone(w, r, "/admin/desktops", "revoked")
}

// people maps user ids to accounts, for lists that name people.
func (s *Server) people(r *http.Request) (map[string]storage.User, error) {
	all, err := s.store.ListUsers(r.Context())
	m := make(map[string]storage.User, len(all))
	for _, u := range all {
		m[u.ID] = u
	}
	return m, err
}

// logView is the log page: the filter as given, the events it found, and
// the link to the next page.
type logView struct {
	F      admin.LogFilter
	Events []admin.LogEntry
	Older  template.URL // the next page; "" on the last
}

// logPage is how many events the page shows at once; exports take more.
const logPage = 100

func (s *Server) handleConsoleLog(w http.ResponseWriter, r *http.Request, op operator) {
	ctx, q := r.Context(), r.URL.Query()
	get := func(k string) string { return trimLen(q.Get(k), 200) }
	f := admin.LogFilter{User: get("user"), App: get("app"), Desktop: get("desktop"), Addr: get("addr"), Result: get("result"),
		Method: get("method"), Kind: get("kind"), Since: get("since"), Until: get("until"), Before: get("before")}
	format := q.Get("format")
	f.Limit, _ = strconv.Atoi(q.Get("limit"))
	switch {
	case f.Limit <= 0 && format != "":
		f.Limit = 10000
	case f.Limit <= 0 || (format == "" && f.Limit > 1000):
		f.Limit = logPage
	}
	v := logView{F: f}
	eq, err := f.Query(ctx, s.store, s.now())
	if err != nil {
		s.renderConsole(w, http.StatusBadRequest, "admin_log", tr(op.lang, "Sign-in log"), op, consolePage{Section: "log", Notice: err.Error(), Data: v})
		return
	}
	events, err := s.store.QueryEvents(ctx, eq)
	if err == nil {
		v.Events, err = admin.Entries(ctx, s.store, events)
	}
	if err != nil {
		s.consoleFail(w, r, op, err)
		return
	}
	switch format {
	case "csv", "json":
		h := w.Header()
		h.Set("Content-Disposition", `attachment; filename="scanfree-log.`+format+`"`)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if format == "csv" {
			h.Set("Content-Type", "text/csv; charset=utf-8")
			admin.WriteCSV(w, v.Events)
			return
		}
		h.Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v.Events)
		return
	}
	if len(v.Events) == f.Limit {
		next := r.URL.Query()
		next.Set("before", v.Events[len(v.Events)-1].Cursor)
		v.Older = template.URL("/admin/log?" + next.Encode()) // url.Values encodes every part
	}
	s.renderConsole(w, http.StatusOK, "admin_log", tr(op.lang, "Sign-in log"), op, consolePage{Section: "log", Data: v})
}
