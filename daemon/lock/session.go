package lock

// The Windows session's state, kept from its Terminal Services
// notifications (WM_WTSSESSION_CHANGE's wParam) and first read from
// WTSQuerySessionInformation(WTSSessionInfoEx). It is portable so that
// its rules are tested wherever the tests run.

// WTS session change codes (winuser.h).
const (
	wtsConsoleConnect    = 0x1
	wtsConsoleDisconnect = 0x2
	wtsRemoteConnect     = 0x3
	wtsRemoteDisconnect  = 0x4
	wtsSessionLogon      = 0x5
	wtsSessionLogoff     = 0x6
	wtsSessionLock       = 0x7
	wtsSessionUnlock     = 0x8
)

// WTSINFOEX_LEVEL1's SessionFlags, and WTS_CONNECTSTATE_CLASS's active
// state.
const (
	wtsSessionStateLock    = 0
	wtsSessionStateUnlock  = 1
	wtsSessionStateUnknown = -1
	wtsActive              = 0
)

// session is what the daemon knows of its Windows session: a session
// that is locked, not connected to a screen (a disconnected remote
// session, the console switched to another user) or logged off has nobody
// to confirm a sign-in at it.
type session struct {
	locked, disconnected, loggedOff bool
}

// sessionFromInfo is the state WTSSessionInfoEx reports: its
// SessionFlags (lock or unlock; Windows 7 and Server 2008 R2 report them
// the other way round, so flip says so) and its connect state. known is
// false when the lock state is unknown.
func sessionFromInfo(flags int32, connectState uint32, flip bool) (s session, known bool) {
	s.disconnected = connectState != wtsActive
	switch flags {
	case wtsSessionStateLock:
		s.locked = !flip
	case wtsSessionStateUnlock:
		s.locked = flip
	default:
		return s, false
	}
	return s, true
}

// event applies one WM_WTSSESSION_CHANGE code.
func (s *session) event(code uintptr) {
	switch code {
	case wtsSessionLock:
		s.locked = true
	case wtsSessionUnlock:
		s.locked = false
	case wtsConsoleConnect, wtsRemoteConnect:
		s.disconnected = false
	case wtsConsoleDisconnect, wtsRemoteDisconnect:
		s.disconnected = true
	case wtsSessionLogon:
		s.loggedOff = false
	case wtsSessionLogoff:
		s.loggedOff = true
	}
}

// away reports whether nobody can be at this session's screen.
func (s session) away() bool { return s.locked || s.disconnected || s.loggedOff }

// macSession is what macOS's login session dictionary
// (CGSessionCopyCurrentDictionary) says: none at all (no session on this
// process's behalf: nobody to ask), CGSSessionScreenIsLocked (present and
// true only while locked) and kCGSSessionOnConsoleKey (false while
// another user has the screen). A missing key is nil.
func macSession(present bool, screenLocked, onConsole *bool) (away bool) {
	switch {
	case !present:
		return true
	case screenLocked != nil && *screenLocked:
		return true
	case onConsole != nil && !*onConsole:
		return true
	}
	return false
}
