//go:build !linux && !darwin && !windows

package lock

import (
	"context"
	"errors"
)

func watch(ctx context.Context, report func(source string, locked bool)) error {
	return errors.New("lock detection is not supported on this OS; use `scanfreed pause` when you leave")
}
