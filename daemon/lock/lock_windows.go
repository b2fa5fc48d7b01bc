package lock

import (
	"context"
	"errors"
)

// watch: Windows reports locking through WTS session notifications
// (WM_WTSSESSION_CHANGE), delivered to a window's message loop; that loop
// is not built yet, so the state stays unknown and `scanfreed status` says
// so. Pause covers the gap.
func watch(ctx context.Context, report func(source string, locked bool)) error {
	return errors.New("lock detection on Windows (WTS session notifications) is not implemented yet; use `scanfreed pause` when you leave")
}
