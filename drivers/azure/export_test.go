package azure

import "time"

// Hooks for the external tests.

// SetMaxLiveHook makes every block upload report the most buffers it held
// at once to f.
func SetMaxLiveHook(f func(int)) (restore func()) {
	old := maxLiveHook
	maxLiveHook = f
	return func() { maxLiveHook = old }
}

// SetBlockLimit replaces Azure's 50,000-block limit.
func SetBlockLimit(n int) (restore func()) {
	old := blockLimit
	blockLimit = n
	return func() { blockLimit = old }
}

// SetCopyPoll replaces the backoff bounds of polling a pending copy.
func SetCopyPoll(start, max time.Duration) (restore func()) {
	oldStart, oldMax := pollStart, pollMax
	pollStart, pollMax = start, max
	return func() { pollStart, pollMax = oldStart, oldMax }
}

// FullKey returns the blob name of key in s.
func FullKey(s *Store, key string) string { return s.b.prefix + key }

// DisableStartFrom makes s list as against a service without startFrom.
func DisableStartFrom(s *Store) { s.b.noStartFrom.Store(true) }
