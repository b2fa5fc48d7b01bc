package lock

import (
	"context"
	"errors"
)

// watch: macOS announces locking through the distributed notifications
// com.apple.screenIsLocked/Unlocked, which need an Objective-C run loop
// (cgo); scanfreed is built without cgo, so the state stays unknown and
// `scanfreed status` says so. Pause covers the gap.
func watch(ctx context.Context, report func(source string, locked bool)) error {
	return errors.New("lock detection on macOS needs the distributed notification center, not available to this build; use `scanfreed pause` when you leave")
}
