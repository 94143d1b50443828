package objstore

import (
	"slices"
	"testing"
)

func TestProgressCalls(t *testing.T) {
	const mib = 1 << 20
	var calls [][2]int64
	p := newProgress(func(done, total int64) { calls = append(calls, [2]int64{done, total}) })
	p.Start(-1)        // (0, -1)
	p.Add(mib / 2)     // not a MiB yet
	p.Add(mib / 2)     // (1 MiB, -1)
	p.Reached(mib)     // no more than before
	p.Reached(3 * mib) // (3 MiB, -1)
	p.Start(-1)        // a restart: nothing until it catches up
	p.Add(2 * mib)     // catching up
	p.Finish(4*mib + 1)
	p.Add(mib) // after Finish: nothing
	p.Start(10)
	want := [][2]int64{{0, -1}, {mib, -1}, {3 * mib, -1}, {4*mib + 1, 4*mib + 1}}
	if !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}

	// A known total: done reaches it, and Finish adds nothing; done past
	// a total that was wrong is not reported until Finish.
	calls = nil
	p = newProgress(func(done, total int64) { calls = append(calls, [2]int64{done, total}) })
	p.Start(100)
	p.Add(100)
	p.Finish(100)
	if want := [][2]int64{{0, 100}, {100, 100}}; !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
	calls = nil
	p = newProgress(func(done, total int64) { calls = append(calls, [2]int64{done, total}) })
	p.Start(100)
	p.Add(3 * mib)
	p.Finish(3 * mib)
	if want := [][2]int64{{0, 100}, {3 * mib, 3 * mib}}; !slices.Equal(calls, want) {
		t.Errorf("a body longer than announced: calls %v, want %v", calls, want)
	}

	// Stop ends the calls without a last one.
	calls = nil
	p = newProgress(func(done, total int64) { calls = append(calls, [2]int64{done, total}) })
	p.Start(0)
	p.Stop()
	p.Finish(0)
	p.Add(5)
	if want := [][2]int64{{0, 0}}; !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}

	// No callback: nil, and its methods do nothing.
	if p := newProgress(nil); p != nil {
		t.Errorf("NewProgress(nil) = %v, want nil", p)
	}
	var none *progress
	none.Start(1)
	none.Add(1)
	none.Reached(1)
	none.Finish(1)
	none.Stop()
}
