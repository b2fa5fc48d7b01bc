package server

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

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
	s.renderConsole(w, http.StatusOK, "admin_desktops", "Desktops", op, consolePage{Section: "desktops", Notice: notice(r), Data: v})
}

func (s *Server) handleConsoleRevokeDesktop(w http.ResponseWriter, r *http.Request, op operator) {
	d, err := s.store.GetDevice(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) {
		s.render(w, http.StatusNotFound, "message", page{Title: "No such desktop", User: op.User, Data: "No desktop has that id; see the Desktops page.", Wide: true})
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

// logEntry is one event as the log page and its exports show it.
type logEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
	User   string    `json:"user,omitempty"`
	AppID  string    `json:"appid,omitempty"`
	Device string    `json:"device,omitempty"`
	Detail string    `json:"detail"`
}

// logView is the log page: the filter as given and the events it found.
type logView struct {
	User, Kind string
	Limit      int
	Events     []logEntry
}

// maxExport caps one export.
const maxExport = 100000

func (s *Server) handleConsoleLog(w http.ResponseWriter, r *http.Request, op operator) {
	ctx, q := r.Context(), r.URL.Query()
	v := logView{User: trimLen(q.Get("user"), 100), Kind: trimLen(q.Get("kind"), 64)}
	format := q.Get("format")
	v.Limit, _ = strconv.Atoi(q.Get("limit"))
	v.Limit = min(max(cmp.Or(v.Limit, 100), 1), maxExport)
	if format == "" {
		v.Limit = min(v.Limit, 1000)
	}
	userID := ""
	if v.User != "" {
		u, err := s.store.GetUserByUsername(ctx, v.User)
		if errors.Is(err, storage.ErrNotFound) {
			s.renderConsole(w, http.StatusOK, "admin_log", "Sign-in log", op, consolePage{Section: "log", Notice: "Nobody has the username " + v.User + ".", Data: v})
			return
		}
		if err != nil {
			s.consoleFail(w, r, op, err)
			return
		}
		userID = u.ID
	}
	events, err := s.store.ListEvents(ctx, userID, v.Kind, v.Limit)
	if err != nil {
		s.consoleFail(w, r, op, err)
		return
	}
	people, err := s.people(r)
	if err != nil {
		s.consoleFail(w, r, op, err)
		return
	}
	for _, e := range events {
		v.Events = append(v.Events, logEntry{e.ID, e.CreatedAt, e.Kind, people[e.UserID].Username, e.AppID, e.DeviceID, e.Detail})
	}
	switch format {
	case "csv":
		writeLogCSV(w, v.Events)
	case "json":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", `attachment; filename="scanfree-log.json"`)
		w.Header().Set("Cache-Control", "no-store")
		if v.Events == nil {
			v.Events = []logEntry{}
		}
		json.NewEncoder(w).Encode(v.Events)
	default:
		s.renderConsole(w, http.StatusOK, "admin_log", "Sign-in log", op, consolePage{Section: "log", Data: v})
	}
}

// writeLogCSV writes events as CSV. A cell a spreadsheet would run as a
// formula (a detail an attacker typed, such as a device name) is quoted
// with a leading apostrophe.
func writeLogCSV(w http.ResponseWriter, events []logEntry) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="scanfree-log.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "at", "kind", "user", "appid", "device", "detail"})
	for _, e := range events {
		cw.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339), e.Kind, cell(e.User), e.AppID, e.Device, cell(e.Detail)})
	}
	cw.Flush()
}

// cell defuses a CSV cell that a spreadsheet would evaluate.
func cell(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}
