package lock

import "testing"

// TestWindowsSession runs the Windows session's notifications through its
// state machine, as a person locks, switches users, connects remotely
// and signs out.
func TestWindowsSession(t *testing.T) {
	for _, tc := range []struct {
		name   string
		flags  int32
		state  uint32
		flip   bool
		events []uintptr
		away   bool
		known  bool
	}{
		{"unlocked at start", wtsSessionStateUnlock, wtsActive, false, nil, false, true},
		{"locked at start", wtsSessionStateLock, wtsActive, false, nil, true, true},
		{"Windows 7 reports locked as unlocked", wtsSessionStateUnlock, wtsActive, true, nil, true, true},
		{"unknown at start", wtsSessionStateUnknown, wtsActive, false, nil, false, false},
		{"disconnected at start", wtsSessionStateUnlock, 4 /* WTSDisconnected */, false, nil, true, true},
		{"lock", wtsSessionStateUnlock, wtsActive, false, []uintptr{wtsSessionLock}, true, true},
		{"lock, unlock", wtsSessionStateUnlock, wtsActive, false, []uintptr{wtsSessionLock, wtsSessionUnlock}, false, true},
		{"switch user: the console goes to another session", wtsSessionStateUnlock, wtsActive, false, []uintptr{wtsConsoleDisconnect}, true, true},
		{"switch back: console connect, still locked", wtsSessionStateUnlock, wtsActive, false,
			[]uintptr{wtsSessionLock, wtsConsoleDisconnect, wtsConsoleConnect}, true, true},
		{"switch back and unlock", wtsSessionStateUnlock, wtsActive, false,
			[]uintptr{wtsSessionLock, wtsConsoleDisconnect, wtsConsoleConnect, wtsSessionUnlock}, false, true},
		{"remote desktop disconnects", wtsSessionStateUnlock, wtsActive, false, []uintptr{wtsRemoteDisconnect}, true, true},
		{"remote desktop reconnects", wtsSessionStateUnlock, wtsActive, false, []uintptr{wtsRemoteDisconnect, wtsRemoteConnect}, false, true},
		{"sign out", wtsSessionStateUnlock, wtsActive, false, []uintptr{wtsSessionLogoff}, true, true},
		{"an unknown code changes nothing", wtsSessionStateUnlock, wtsActive, false, []uintptr{0x9, 0xe}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, known := sessionFromInfo(tc.flags, tc.state, tc.flip)
			for _, e := range tc.events {
				s.event(e)
			}
			if s.away() != tc.away || known != tc.known {
				t.Fatalf("away %v known %v; want %v %v (%+v)", s.away(), known, tc.away, tc.known, s)
			}
		})
	}
}

// TestMacSession reads the session dictionary's keys as macOS sets them.
func TestMacSession(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name              string
		present           bool
		locked, onConsole *bool
		away              bool
	}{
		{"unlocked, on the console (the lock key absent)", true, nil, &yes, false},
		{"locked", true, &yes, &yes, true},
		{"lock key false", true, &no, &yes, false},
		{"another user has the screen", true, nil, &no, true},
		{"no console key", true, nil, nil, false},
		{"no session dictionary", false, nil, nil, true},
	} {
		if got := macSession(tc.present, tc.locked, tc.onConsole); got != tc.away {
			t.Errorf("%s: away %v; want %v", tc.name, got, tc.away)
		}
	}
}
