package faultproxy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The cancel cases bound the library's latency: the time from cancel() to
// the operation's return. On a loaded machine much of that wall time can
// be the kernel's, not the library's: a thread of the test process that
// is runnable waits for a CPU. Measured under a load average of 10 on two
// cores, the threads of the test process waited up to 174 ms for a CPU
// within a 195 ms cancel, while the goroutine that had to notice the
// cancel was between two 32 KiB reads of a part body it was hashing.
//
// Linux counts that wait per thread: the second field of
// /proc/self/task/TID/schedstat is the time the thread has spent runnable
// but not running. A library that waits for the stall or the retry delay
// sleeps, which that count leaves out, so subtracting it excuses no bug of
// that kind; a library that burns CPU after the cancel is charged for the
// CPU it burns. On a quiet machine the count barely moves, and the bound
// is as strict as the wall clock.
//
// The kernel adds a wait to the count when the thread next runs, so a
// wait that began before the cancel can count whole after it; the matrix
// therefore never excuses more than the time the cancel took. The cancel
// cases also bound work rather than time (bodyWatch): once cancelled, a
// request may read the body at most once more, however slow the machine.

// runDelays maps each thread of this process to the time it has spent
// waiting for a CPU, or is nil where the kernel does not say.
type runDelays map[string]time.Duration

func readRunDelays() runDelays {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil
	}
	m := runDelays{}
	for _, e := range ents {
		b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/schedstat")
		if err != nil {
			continue // the thread has exited
		}
		var running, waiting int64
		if _, err := fmt.Sscan(string(b), &running, &waiting); err != nil {
			return nil
		}
		m[e.Name()] = time.Duration(waiting)
	}
	return m
}

// since returns how much longer each thread has waited in d than in from.
func (d runDelays) since(from runDelays) runDelays {
	m := runDelays{}
	for k, v := range d {
		m[k] = v - from[k] // a thread born since then starts at 0
	}
	return m
}

// minus returns d less, thread by thread, the waits in o.
func (d runDelays) minus(o runDelays) runDelays {
	m := runDelays{}
	for k, v := range d {
		m[k] = v - o[k]
	}
	return m
}

// most returns the longest wait of any one thread: the least of the
// kernel's time that the path from cancel() to the return can have
// carried, when that path ran on the thread that waited most.
func (d runDelays) most() time.Duration {
	var m time.Duration
	for _, v := range d {
		m = max(m, v)
	}
	return m
}

// spanWindow is a span processor that records, for the spans named name
// that start after mark, their total duration and the threads' waits for
// a CPU while they ran: the matrix leaves the abort that a cancelled
// multipart put owes the server out of the library's latency, and must
// leave out the waits inside it only once.
type spanWindow struct {
	name string

	mu      sync.Mutex
	mark    time.Time
	open    map[sdktrace.ReadWriteSpan]runDelays
	spent   time.Duration
	waiting runDelays
}

var _ sdktrace.SpanProcessor = (*spanWindow)(nil)

func newSpanWindow(name string) *spanWindow {
	return &spanWindow{name: name, open: map[sdktrace.ReadWriteSpan]runDelays{}, waiting: runDelays{}}
}

// start sets the mark: spans that started earlier do not count.
func (w *spanWindow) start(at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mark = at
}

// totals returns the time spent in the spans since the mark and the
// threads' waits within them.
func (w *spanWindow) totals() (time.Duration, runDelays) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.spent, w.waiting
}

func (w *spanWindow) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	if s.Name() != w.name {
		return
	}
	rd := readRunDelays()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.mark.IsZero() && !s.StartTime().Before(w.mark) {
		w.open[s] = rd
	}
}

func (w *spanWindow) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.Name() != w.name {
		return
	}
	rd := readRunDelays()
	w.mu.Lock()
	defer w.mu.Unlock()
	for rw, from := range w.open {
		if !rw.SpanContext().Equal(s.SpanContext()) {
			continue
		}
		delete(w.open, rw)
		w.spent += s.EndTime().Sub(s.StartTime())
		for k, v := range rd.since(from) {
			w.waiting[k] += v
		}
	}
}

func (*spanWindow) Shutdown(context.Context) error   { return nil }
func (*spanWindow) ForceFlush(context.Context) error { return nil }

// bodyWatch counts the reads of a put's body that begin after cancel()
// has returned and still return bytes. The context of a cancel case
// carries it, under bodyWatchKey, to put, which then wraps its body in a
// watchedBody.
type bodyWatch struct {
	cancelled atomic.Bool
	late      atomic.Int64
}

type bodyWatchKey struct{}

func (w *bodyWatch) read(n int, late bool) {
	if late && n > 0 {
		w.late.Add(1)
	}
}

// watchedBody is a bytes.Reader that reports its reads to w. It has the
// methods by which the drivers size a body and read it in sections, and
// no WriteTo, so that every byte passes through Read or ReadAt.
type watchedBody struct {
	r *bytes.Reader
	w *bodyWatch
}

func (b *watchedBody) Read(p []byte) (int, error) {
	late := b.w.cancelled.Load()
	n, err := b.r.Read(p)
	b.w.read(n, late)
	return n, err
}

func (b *watchedBody) ReadAt(p []byte, off int64) (int, error) {
	late := b.w.cancelled.Load()
	n, err := b.r.ReadAt(p, off)
	b.w.read(n, late)
	return n, err
}

func (b *watchedBody) Seek(off int64, whence int) (int64, error) { return b.r.Seek(off, whence) }
func (b *watchedBody) Size() int64                               { return b.r.Size() }
func (b *watchedBody) Len() int                                  { return b.r.Len() }

// requests returns how many requests of op can read its body of size
// bytes at once: one per part for a multipart put, else one.
func (op operation) requests(size int, partSize int64) int {
	if !op.parts || partSize <= 0 {
		return 1
	}
	return int((int64(size) + partSize - 1) / partSize)
}
