// Package periodic runs a function on a ticker until its context ends:
// the renewals, checks and polls of the daemon and the server.
package periodic

import (
	"context"
	"time"
)

// Run calls fn every d until ctx ends; the first call is after d.
func Run(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}
