package dialog

import (
	"context"
	"syscall"
	"unsafe"
)

var (
	user32          = syscall.NewLazyDLL("user32.dll")
	procMessageBox  = user32.NewProc("MessageBoxW")
	procFindWindow  = user32.NewProc("FindWindowW")
	procPostMessage = user32.NewProc("PostMessageW")
)

const (
	mbOKCancel      = 0x00000001
	mbIconQuestion  = 0x00000020
	mbDefButton2    = 0x00000100
	mbSetForeground = 0x00010000
	mbTopMost       = 0x00040000
	idOK            = 1
	wmClose         = 0x0010
)

func program() (string, error) { return "MessageBoxW", user32.Load() }

// confirm shows an OK/Cancel message box (OK = Allow) whose default
// button is Cancel, so Return or Space on a fresh box denies. MessageBoxW
// cannot be placed, so the click position is not used. When ctx ends
// first, the box is closed by posting WM_CLOSE to its window, which an
// OK/Cancel box answers as Cancel (a Yes/No box has no close action and
// would ignore it, leaving every later request "busy").
func confirm(ctx context.Context, title, text string) (bool, error) {
	t, _ := syscall.UTF16PtrFromString(title)
	m, _ := syscall.UTF16PtrFromString(text + "\n\nOK = Allow, Cancel = Deny")
	done := make(chan uintptr, 1)
	go func() {
		r, _, _ := procMessageBox.Call(0, uintptr(unsafe.Pointer(m)), uintptr(unsafe.Pointer(t)), mbOKCancel|mbDefButton2|mbIconQuestion|mbSetForeground|mbTopMost)
		done <- r
	}()
	select {
	case r := <-done:
		return r == idOK, nil
	case <-ctx.Done():
		if hwnd, _, _ := procFindWindow.Call(0, uintptr(unsafe.Pointer(t))); hwnd != 0 {
			procPostMessage.Call(hwnd, wmClose, 0, 0)
		}
		<-done
		return false, ctx.Err()
	}
}
