package storage

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Feed fans ticket changes out to the WatchTickets callers of one process.
// Implementations publish to it; the zero Feed is ready to use.
type Feed struct {
	mu   sync.Mutex
	next int
	m    map[int]func(string)
}

// Publish tells every watcher that ticket uuid changed ("" for all).
func (f *Feed) Publish(uuid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fn := range f.m {
		fn(uuid)
	}
}

// Watch calls changed for every Publish until ctx ends, then returns
// ctx's error.
func (f *Feed) Watch(ctx context.Context, changed func(string)) error {
	f.mu.Lock()
	if f.m == nil {
		f.m = map[int]func(string){}
	}
	id := f.next
	f.next++
	f.m[id] = changed
	f.mu.Unlock()
	<-ctx.Done()
	f.mu.Lock()
	delete(f.m, id)
	f.mu.Unlock()
	return ctx.Err()
}

// SlowDown is RFC 8628's polling rule, shared by implementations of
// PollDeviceAuth: a poll sooner than interval after the previous one at
// last is too fast and raises the interval by step.
func SlowDown(last time.Time, interval time.Duration, now time.Time, step time.Duration) (bool, time.Duration) {
	if !last.IsZero() && now.Sub(last) < interval {
		return true, interval + step
	}
	return false, interval
}

// Millis is how both stores keep times: Unix milliseconds, 0 for the zero
// time, so that an unset time survives a round trip.
func Millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromMillis reverses Millis.
func FromMillis(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// PoolStats are a store's connection pool figures, for metrics.
type PoolStats struct {
	Open, InUse, Idle, Max int
	Waits                  int64         // times a caller waited for a free connection
	WaitTime               time.Duration // total time spent waiting
}

// Pooled is a Storage that reports its connection pool.
type Pooled interface {
	PoolStats() PoolStats
}

// Counts are a store's running totals of the work it did, for metrics and
// for the tests that keep each operation's share of it small.
type Counts struct {
	// Statements are the SQL statements run, not counting a transaction's
	// BEGIN, COMMIT and savepoints.
	Statements int64
	// Writes are the write transactions.
	Writes int64
}

// Counted is a Storage that counts its statements and transactions.
type Counted interface {
	Counts() Counts
}

// Qualify prefixes each of the comma-separated columns cols with table
// alias a ("t", "id, name" → "t.id, t.name"), for joined reads.
func Qualify(a, cols string) string {
	f := strings.Split(cols, ",")
	for i, c := range f {
		f[i] = a + "." + strings.TrimSpace(c)
	}
	return strings.Join(f, ", ")
}
