package objstore

import (
	"fmt"
	"sync"
)

// progressStep is how many bytes a transfer moves between two calls of its
// progress callback, besides the first call and the last.
const progressStep = 1 << 20

// progress is for the portable store and DownloadFile: it turns the bytes a
// transfer moves into calls of the caller's progress callback
// (PutOptions.Progress, CopyOptions.Progress, DownloadOptions.Progress)
// that keep rule P8 of docs/SEMANTICS.md:
//
//   - the calls never overlap, whichever goroutines report bytes;
//   - the first is (0, total), total being -1 while the size is unknown;
//   - done never decreases, never exceeds a known total, and is reported
//     when it has grown by a MiB since the last call, or reached total;
//   - Finish makes the last call, (size, size), and no call follows
//     Finish or Stop.
//
// A nil *progress does nothing, so a driver calls its methods whether or
// not the caller asked for progress. The methods are safe for concurrent
// use; the callback runs with a lock held, so the transfer waits while it
// runs.
type progress struct {
	fn func(done, total int64)

	mu       sync.Mutex
	total    int64 // -1: unknown
	done     int64 // bytes moved in the current attempt
	reported int64 // the done of the last call; -1 before the first
	stopped  bool
}

// newProgress returns a progress that calls fn, or nil when fn is nil.
func newProgress(fn func(done, total int64)) *progress {
	if fn == nil {
		return nil
	}
	return &progress{fn: fn, total: -1, reported: -1}
}

// Start begins an attempt at moving total bytes (-1 when the size is not
// known yet) and reports (0, total). Called again, for an attempt that
// starts over (a copy whose source changed), it counts done from zero
// again but reports nothing until the new attempt has caught up with what
// was already reported, so that done never goes back. Only when the new
// total is smaller than what was reported do the calls start again from
// (0, total): a progress above the total would be a lie.
func (p *progress) Start(total int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	changed := total != p.total
	p.total, p.done = total, 0
	if total >= 0 && p.reported > total {
		p.reported = -1
	}
	if p.reported < 0 || (changed && p.reported == 0) {
		p.reported = 0
		p.fn(0, total)
	}
}

// Add records n more bytes moved: a part the service acknowledged, a
// chunk written. It reports done when done has grown by a MiB since the
// last call, or has reached a known total.
func (p *progress) Add(n int64) {
	if p == nil || n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.add(n)
}

// Reached records that done bytes have been moved in all, when that is
// more than recorded so far. It suits a count that can go back, such as
// the position in a request body that the transport reads again when it
// retries: only the bytes past the furthest position count.
func (p *progress) Reached(done int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if done > p.done {
		p.add(done - p.done)
	}
}

func (p *progress) add(n int64) {
	if p.stopped {
		return
	}
	p.done += n
	switch {
	case p.done <= p.reported:
		return // a restart catching up
	case p.total >= 0 && p.done > p.total:
		return // more than the size announced: Finish will tell
	}
	if p.done == p.total || p.done-p.reported >= progressStep {
		p.reported = p.done
		p.fn(p.done, p.total)
	}
}

// Finish makes the last call, (size, size), unless it was made already,
// and ends the reports. A transfer calls it once it has succeeded, with
// the size of what it stored, before it returns.
func (p *progress) Finish(size int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.stopped = true
	if p.reported == size && p.total == size {
		return
	}
	p.total, p.done, p.reported = size, size, size
	p.fn(size, size)
}

// Stop ends the reports without a last call. A transfer defers it, so
// that no call comes after it returns, not even from a request body that
// a transport goroutine is still reading. When Stop returns, no call is
// running.
func (p *progress) Stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
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
