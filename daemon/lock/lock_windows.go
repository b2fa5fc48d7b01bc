package lock

import (
	"context"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/windows"
)

// watch follows the Windows session through Terminal Services
// notifications: a message-only window registered with
// WTSRegisterSessionNotification receives WM_WTSSESSION_CHANGE on lock,
// unlock, logoff and console or remote connect and disconnect, and
// WTSQuerySessionInformation(WTSSessionInfoEx) gives the state at start.
// The window's message loop runs on its own locked OS thread until ctx
// ends. A session whose lock state Windows does not know is reported
// from the notifications that follow.
func watch(ctx context.Context, report func(source string, locked bool)) error {
	ready := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		sessionLoop(ctx, report, ready)
	}()
	return <-ready
}

var (
	user32                               = windows.NewLazySystemDLL("user32.dll")
	wtsapi32                             = windows.NewLazySystemDLL("wtsapi32.dll")
	procRegisterClassExW                 = user32.NewProc("RegisterClassExW")
	procCreateWindowExW                  = user32.NewProc("CreateWindowExW")
	procDefWindowProcW                   = user32.NewProc("DefWindowProcW")
	procDestroyWindow                    = user32.NewProc("DestroyWindow")
	procGetMessageW                      = user32.NewProc("GetMessageW")
	procDispatchMessageW                 = user32.NewProc("DispatchMessageW")
	procPostMessageW                     = user32.NewProc("PostMessageW")
	procWTSRegisterSessionNotification   = wtsapi32.NewProc("WTSRegisterSessionNotification")
	procWTSUnRegisterSessionNotification = wtsapi32.NewProc("WTSUnRegisterSessionNotification")
	procWTSQuerySessionInformationW      = wtsapi32.NewProc("WTSQuerySessionInformationW")
)

const (
	wmQuit               = 0x0012
	wmWTSSessionChange   = 0x02B1
	hwndMessage          = ^uintptr(2) // HWND_MESSAGE, (HWND)-3
	notifyForThisSession = 0
	wtsSessionInfoEx     = 25
	wtsCurrentSession    = ^uintptr(0) // WTS_CURRENT_SESSION, (DWORD)-1
	source               = "wts"
)

type wndClassEx struct {
	size, style                        uint32
	wndProc                            uintptr
	clsExtra, wndExtra                 int32
	instance, icon, cursor, background windows.Handle
	menuName, className                *uint16
	iconSm                             windows.Handle
}

type msg struct {
	hwnd    windows.Handle
	message uint32
	wParam  uintptr
	lParam  uintptr
	time    uint32
	pt      [2]int32
	private uint32
}

func sessionLoop(ctx context.Context, report func(string, bool), ready chan<- error) {
	// Windows 7 and Server 2008 R2 report SessionFlags inverted.
	v := windows.RtlGetVersion()
	s, known, err := querySession(v.MajorVersion == 6 && v.MinorVersion == 1)
	if err == nil && known {
		report(source, s.away())
	}
	proc := windows.NewCallback(func(hwnd, m, wParam, lParam uintptr) uintptr {
		if m == wmWTSSessionChange {
			s.event(wParam)
			report(source, s.away())
			return 0
		}
		r, _, _ := procDefWindowProcW.Call(hwnd, m, wParam, lParam)
		return r
	})
	class, _ := windows.UTF16PtrFromString("scanfreed-session")
	wc := wndClassEx{wndProc: proc, className: class}
	wc.size = uint32(unsafe.Sizeof(wc))
	if r, _, err := procRegisterClassExW.Call(uintptr(unsafe.Pointer(&wc))); r == 0 {
		ready <- fmt.Errorf("lock detection on Windows: register window class: %v; use `scanfreed pause` when you leave", err)
		return
	}
	hwnd, _, err := procCreateWindowExW.Call(0, uintptr(unsafe.Pointer(class)), 0, 0, 0, 0, 0, 0, hwndMessage, 0, 0, 0)
	if hwnd == 0 {
		ready <- fmt.Errorf("lock detection on Windows: create a message window: %v; use `scanfreed pause` when you leave", err)
		return
	}
	defer procDestroyWindow.Call(hwnd)
	if r, _, err := procWTSRegisterSessionNotification.Call(hwnd, notifyForThisSession); r == 0 {
		ready <- fmt.Errorf("lock detection on Windows: WTSRegisterSessionNotification: %v; use `scanfreed pause` when you leave", err)
		return
	}
	defer procWTSUnRegisterSessionNotification.Call(hwnd)
	ready <- nil
	stop := context.AfterFunc(ctx, func() { procPostMessageW.Call(hwnd, wmQuit, 0, 0) })
	defer stop()
	var m msg
	for {
		r, _, _ := procGetMessageW.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0)
		if int32(r) <= 0 { // WM_QUIT, or an error
			return
		}
		procDispatchMessageW.Call(uintptr(unsafe.Pointer(&m)))
	}
}

// querySession reads the session's state at start. known is false when
// Windows does not know whether it is locked.
func querySession(flip bool) (session, bool, error) {
	var buf *byte
	var n uint32
	if r, _, err := procWTSQuerySessionInformationW.Call(0, wtsCurrentSession, wtsSessionInfoEx,
		uintptr(unsafe.Pointer(&buf)), uintptr(unsafe.Pointer(&n))); r == 0 {
		return session{}, false, fmt.Errorf("WTSQuerySessionInformation: %v", err)
	}
	defer windows.WTSFreeMemory(uintptr(unsafe.Pointer(buf)))
	if n < 20 {
		return session{}, false, fmt.Errorf("WTSQuerySessionInformation: %d bytes", n)
	}
	// WTSINFOEXW: DWORD Level, then (8-aligned) WTSINFOEX_LEVEL1_W:
	// SessionId, SessionState, SessionFlags.
	b := unsafe.Slice(buf, n)
	state := *(*uint32)(unsafe.Pointer(&b[12]))
	flags := *(*int32)(unsafe.Pointer(&b[16]))
	s, known := sessionFromInfo(flags, state, flip)
	return s, known, nil
}
