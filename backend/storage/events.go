package storage

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Results of a sign-in event (Event.Result).
const (
	ResultOK      = "ok"
	ResultRefused = "refused"
)

// Methods of a sign-in event (Event.Method): how the person confirmed it.
const (
	MethodScanFree   = "scanfree"        // the desktop app's dialog, from the hosted page
	MethodQR         = "qr"              // a phone (or `scanfreed approve`) confirmed a QR code
	MethodPassword   = "password"        // the password form
	MethodDesktopApp = "desktop_app"     // a program on the desktop, as mini-programs sign in
	MethodDevice     = "device_approval" // a desktop enrolled on the /device page
	MethodUpstream   = "upstream"        // a connector's provider (OpenID Connect, WeChat) vouched for her
	MethodPasskey    = "passkey"         // a passkey (WebAuthn), on the hosted pages
)

// EventQuery selects events for the sign-in log. Every set field narrows
// the selection; the zero EventQuery is every event, newest first.
type EventQuery struct {
	UserID, AppID, DeviceID string
	Kinds                   []string
	Method, Result          string
	// Country narrows to one country; CountryKnown to events whose
	// country is known.
	Country      string
	CountryKnown bool
	// Addr narrows to client addresses in the range (a single address is
	// a /32 or /128).
	Addr netip.Prefix
	// Since and Until bound CreatedAt: Since <= CreatedAt < Until.
	Since, Until time.Time
	// Before continues a listing after the last event of the previous
	// page (its Cursor); zero starts at the newest.
	Before Cursor
	// Limit caps the events returned (100 when 0).
	Limit int
}

// Cursor is a position in the log: events are ordered by time, then id.
type Cursor struct {
	At time.Time
	ID int64
}

// Cursor returns e's position, for EventQuery.Before.
func (e Event) Cursor() Cursor { return Cursor{e.CreatedAt, e.ID} }

// String encodes c for a URL or a command line.
func (c Cursor) String() string {
	if c.ID == 0 {
		return ""
	}
	return strconv.FormatInt(Millis(c.At), 10) + "." + strconv.FormatInt(c.ID, 10)
}

// ParseCursor reads what Cursor.String wrote.
func ParseCursor(s string) (Cursor, bool) {
	at, id, ok := strings.Cut(s, ".")
	ms, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || n <= 0 {
		return Cursor{}, false
	}
	return Cursor{FromMillis(ms), n}, true
}

// AddrKey is the sortable form of a client address the log keeps beside
// its text (16 bytes, IPv4 as IPv4-mapped IPv6), so that a CIDR range is
// one range of keys in either store; nil when addr is not an address.
func AddrKey(addr string) []byte {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return nil
	}
	b := a.Unmap().As16()
	if a.Unmap().Is4() {
		b = netip.AddrFrom4(a.Unmap().As4()).As16() // ::ffff:a.b.c.d
	}
	return b[:]
}

// prefixKeys is the lowest and highest AddrKey in p.
func prefixKeys(p netip.Prefix) (lo, hi []byte) {
	p = p.Masked()
	first := p.Addr()
	bits := p.Bits()
	if first.Is4() {
		bits += 96
	}
	b := AddrKey(first.String())
	lo = append([]byte(nil), b...)
	hi = append([]byte(nil), b...)
	for i := bits; i < 128; i++ {
		hi[i/8] |= 1 << (7 - i%8)
	}
	return lo, hi
}

// Where is q as a SQL condition and its arguments (ph numbers the
// placeholders, "?" or "$n"), with the ORDER BY and LIMIT that follow it,
// for both stores to run one query. The columns are the events table's.
func (q EventQuery) Where(ph func(n int) string) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, vals ...any) {
		for _, v := range vals {
			args = append(args, v)
			cond = strings.Replace(cond, "?", ph(len(args)), 1)
		}
		conds = append(conds, cond)
	}
	// A fixed order: the same filters make the same SQL text.
	for _, f := range [...]struct{ col, v string }{{"user_id", q.UserID}, {"appid", q.AppID}, {"device_id", q.DeviceID}, {"method", q.Method}, {"result", q.Result}, {"country", q.Country}} {
		if f.v != "" {
			add(f.col+" = ?", f.v)
		}
	}
	if q.CountryKnown {
		conds = append(conds, "country <> ''")
	}
	if len(q.Kinds) > 0 {
		vals := make([]any, len(q.Kinds))
		for i, k := range q.Kinds {
			vals[i] = k
		}
		add("kind IN ("+strings.Repeat("?, ", len(q.Kinds)-1)+"?)", vals...)
	}
	if q.Addr.IsValid() {
		lo, hi := prefixKeys(q.Addr)
		add("addr_key BETWEEN ? AND ?", lo, hi)
	}
	if !q.Since.IsZero() {
		add("created_at >= ?", Millis(q.Since))
	}
	if !q.Until.IsZero() {
		add("created_at < ?", Millis(q.Until))
	}
	if q.Before.ID != 0 {
		at := Millis(q.Before.At)
		add("(created_at < ? OR (created_at = ? AND id < ?))", at, at, q.Before.ID)
	}
	where := "TRUE"
	if len(conds) > 0 {
		where = strings.Join(conds, " AND ")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	return where + " ORDER BY created_at DESC, id DESC LIMIT " + ph(len(args)), args
}

// EventCols are the columns an event is read from, in EventFields' order.
const EventCols = "id, user_id, kind, appid, device_id, detail, created_at, method, face, addr, country, result, reason"

// EventFields are the destinations of EventCols for a row scan into e;
// *created receives created_at, in Millis.
func EventFields(e *Event, created *int64) []any {
	return []any{&e.ID, &e.UserID, &e.Kind, &e.AppID, &e.DeviceID, &e.Detail, created, &e.Method, &e.Face, &e.Addr, &e.Country, &e.Result, &e.Reason}
}

// InsertEventCols are the columns an event is stored in, in InsertEventValues' order.
const InsertEventCols = "user_id, kind, appid, device_id, detail, created_at, method, face, addr, addr_key, country, result, reason"

// InsertEventValues are e's values for InsertEventCols.
func InsertEventValues(e Event) []any {
	return []any{e.UserID, e.Kind, e.AppID, e.DeviceID, e.Detail, Millis(e.CreatedAt), e.Method, e.Face, e.Addr, AddrKey(e.Addr), e.Country, e.Result, e.Reason}
}

// EventImporter is a store that takes many events in one transaction
// (imports, and the log's benchmark seeding a million events).
type EventImporter interface {
	ImportEvents(ctx context.Context, events []Event) error
}
