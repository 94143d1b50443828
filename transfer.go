package objstore

import (
	"fmt"
	"sync"
)

// progressStep is how many bytes a transfer moves between two calls of its
// progress callback, besides the first call and the last.
const progressStep = 1 << 20

// progress serializes the calls of a transfer's progress callback and keeps
// them few: one with done == 0 when the size is known, one at least every
// progressStep bytes, and one with done == total. done never decreases
// between calls, and a call is made only when done has grown (or total
// changed). A nil *progress, or one with a nil fn, does nothing.
type progress struct {
	fn func(done, total int64)

	mu       sync.Mutex
	total    int64
	done     int64 // bytes moved in the current attempt
	reported int64 // the done of the last call; -1 before the first
}

func newProgress(fn func(done, total int64)) *progress {
	if fn == nil {
		return nil
	}
	return &progress{fn: fn, reported: -1}
}

// start begins an attempt that moves total bytes and reports (0, total) or,
// on a restart, waits until the new attempt has caught up with what was
// already reported, so that done never goes back. Only when the new total
// is smaller than what was reported does done start again from zero: a
// progress above the total would be a lie.
func (p *progress) start(total int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	changed := total != p.total
	p.total, p.done = total, 0
	if p.reported > total {
		p.reported = -1
	}
	if p.reported < 0 || (changed && p.reported == 0) {
		p.reported = 0
		p.fn(0, total)
	}
}

// add records n more bytes moved, and calls fn when a step is complete or
// the transfer is.
func (p *progress) add(n int64) {
	if p == nil || n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.done <= p.reported {
		return // a restart catching up
	}
	if p.done == p.total || p.done-p.reported >= progressStep {
		p.reported = p.done
		p.fn(p.done, p.total)
	}
}

// localError wraps an error from the local file system, or a refusal of
// DownloadFile's or UploadFile's own, with what was being done.
func localError(op, key, path string, err error) error {
	return fmt.Errorf("objstore: %s %q %s %s: %w", op, key, direction(op), path, err)
}

func direction(op string) string {
	if op == "upload" {
		return "from"
	}
	return "to"
}
