package admin

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// LogFilter is the sign-in log's filter as an operator types it, in the
// console's form and as `scanfree-server events` flags; every field is
// optional.
type LogFilter struct {
	User    string // a username
	App     string // an appid
	Desktop string // a desktop's id
	Addr    string // an address or a CIDR range
	Result  string // ok or refused
	Method  string // scanfree, qr, password, desktop_app, device_approval
	Kind    string // event kinds, comma-separated
	// Since and Until bound the time: a date (2026-12-01), a time
	// (2026-12-01T15:04, RFC 3339) or a duration back from now (24h).
	Since, Until string
	Before       string // the cursor of the previous page's last event
	Limit        int
}

// MaxLogPage caps one page or one export of the log.
const MaxLogPage = 100000

// Query turns f into a storage query, resolving the username; a filter
// that cannot match (an unknown person) is an error naming the fix.
func (f LogFilter) Query(ctx context.Context, st storage.Storage, now time.Time) (storage.EventQuery, error) {
	q := storage.EventQuery{AppID: strings.TrimSpace(f.App), DeviceID: strings.TrimSpace(f.Desktop), Limit: f.Limit}
	if f.User = strings.TrimSpace(f.User); f.User != "" {
		u, err := st.GetUserByUsername(ctx, f.User)
		if errors.Is(err, storage.ErrNotFound) {
			return q, fmt.Errorf("no user %q: give a username (see `scanfree-server user list`)", f.User)
		} else if err != nil {
			return q, err
		}
		q.UserID = u.ID
	}
	if a := strings.TrimSpace(f.Addr); a != "" {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			addr, aerr := netip.ParseAddr(a)
			if aerr != nil {
				return q, fmt.Errorf("address %q: want an address (192.0.2.7) or a CIDR range (192.0.2.0/24, 2001:db8::/32)", a)
			}
			p = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		q.Addr = p.Masked()
	}
	switch f.Result {
	case "", storage.ResultOK, storage.ResultRefused:
		q.Result = f.Result
	default:
		return q, fmt.Errorf("result %q: use ok or refused", f.Result)
	}
	switch f.Method {
	case "", storage.MethodScanFree, storage.MethodQR, storage.MethodPassword, storage.MethodDesktopApp, storage.MethodDevice, storage.MethodUpstream, storage.MethodPasskey:
		q.Method = f.Method
	default:
		return q, fmt.Errorf("method %q: use scanfree, qr, password, desktop_app, device_approval or upstream", f.Method)
	}
	for k := range strings.SplitSeq(f.Kind, ",") {
		if k = strings.TrimSpace(k); k != "" {
			q.Kinds = append(q.Kinds, k)
		}
	}
	var err error
	if q.Since, err = when(f.Since, now); err != nil {
		return q, fmt.Errorf("since: %w", err)
	}
	if q.Until, err = when(f.Until, now); err != nil {
		return q, fmt.Errorf("until: %w", err)
	}
	if f.Before != "" {
		c, ok := storage.ParseCursor(f.Before)
		if !ok {
			return q, fmt.Errorf("before %q: give the cursor the previous page ended with", f.Before)
		}
		q.Before = c
	}
	if q.Limit < 0 || q.Limit > MaxLogPage {
		return q, fmt.Errorf("limit %d: want 1 to %d", q.Limit, MaxLogPage)
	}
	return q, nil
}

// when reads a time as LogFilter takes it; "" is the zero time.
func when(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want a date (2026-12-01), a time (2026-12-01T15:04) or a duration back from now (24h)", s)
}

// LogEntry is one event as the console and the CLI show and export it.
type LogEntry struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	User    string    `json:"user,omitempty"` // the username; the id when the person was deleted
	AppID   string    `json:"appid,omitempty"`
	Device  string    `json:"device,omitempty"`
	Method  string    `json:"method,omitempty"`
	Face    string    `json:"face,omitempty"`
	Addr    string    `json:"addr,omitempty"`
	Country string    `json:"country,omitempty"`
	Result  string    `json:"result,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Detail  string    `json:"detail"`
	Cursor  string    `json:"cursor"` // continues the listing after this event
}

// Entries turns events into log entries, naming people by username.
func Entries(ctx context.Context, st storage.Storage, events []storage.Event) ([]LogEntry, error) {
	users, err := st.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(users))
	for _, u := range users {
		names[u.ID] = u.Username
	}
	out := make([]LogEntry, 0, len(events))
	for _, e := range events {
		name := names[e.UserID]
		if name == "" {
			name = e.UserID
		}
		out = append(out, LogEntry{e.ID, e.CreatedAt, e.Kind, name, e.AppID, e.DeviceID, e.Method, e.Face, e.Addr, e.Country, e.Result, e.Reason,
			e.Detail, e.Cursor().String()})
	}
	return out, nil
}

// WriteCSV writes entries as CSV with a header row. A cell a spreadsheet
// would run as a formula (a detail someone typed, such as a username or
// a desktop's name) gets a leading apostrophe.
func WriteCSV(w io.Writer, entries []LogEntry) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "at", "kind", "user", "appid", "device", "method", "face", "addr", "country", "result", "reason", "detail"})
	for _, e := range entries {
		cw.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), e.Kind, cell(e.User), cell(e.AppID), cell(e.Device),
			e.Method, e.Face, e.Addr, e.Country, e.Result, e.Reason, cell(e.Detail)})
	}
	cw.Flush()
	return cw.Error()
}

// cell defuses a CSV cell that a spreadsheet would evaluate.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
