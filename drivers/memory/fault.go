package memory

import (
	"errors"
	"io"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/objstore-go/objstore"
)

// Op names an operation for failure injection.
type Op string

// The operations a Fault can target.
const (
	OpAny    Op = ""
	OpStat   Op = "stat"
	OpGet    Op = "get"
	OpPut    Op = "put"
	OpDelete Op = "delete"
	OpList   Op = "list"
	OpCopy   Op = "copy"
)

// Fault describes a failure to inject, so that tests of code built on
// objstore can exercise their error handling. See Store.Inject.
type Fault struct {
	// Op is the operation to fail; OpAny matches every operation.
	Op Op
	// Key restricts the fault to one key ("" matches any). For Copy it is
	// matched against dst and src; List never matches a non-empty Key.
	Key string
	// Err is the error returned, typically one of the objstore.Err values;
	// it is wrapped in an *objstore.Error so errors.Is sees it. Nil means
	// objstore.ErrThrottled.
	Err error
	// AfterBytes, for Get and Put, fails the body rather than the call: a
	// Get's Reader breaks after serving AfterBytes bytes, and a Put fails
	// after reading AfterBytes bytes of its body (leaving the previous
	// state, as every Put does). Zero fails the call itself.
	AfterBytes int64
	// Times is how many matching calls fail; zero means once.
	Times int
}

type faults struct {
	pending atomic.Int32 // len(list), read without the lock on every call
	mu      sync.Mutex
	list    []Fault
}

// Inject arranges for the next matching operations on this Store handle to
// fail as f describes. Faults fire in the order they were injected.
func (s *Store) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.Err == nil {
		f.Err = objstore.ErrThrottled
	}
	s.faults.mu.Lock()
	s.faults.list = append(s.faults.list, f)
	s.faults.pending.Store(int32(len(s.faults.list)))
	s.faults.mu.Unlock()
}

// ClearFaults removes every fault not yet fired.
func (s *Store) ClearFaults() {
	s.faults.mu.Lock()
	s.faults.list = nil
	s.faults.pending.Store(0)
	s.faults.mu.Unlock()
}

// take returns the first fault matching op and one of keys, consuming one of
// its Times.
func (fs *faults) take(op Op, keys ...string) (Fault, bool) {
	if fs.pending.Load() == 0 {
		return Fault{}, false
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	defer func() { fs.pending.Store(int32(len(fs.list))) }()
	for i, f := range fs.list {
		if f.Op != OpAny && f.Op != op {
			continue
		}
		if f.Key != "" && !slices.Contains(keys, f.Key) {
			continue
		}
		f.Times--
		if f.Times == 0 {
			fs.list = append(fs.list[:i], fs.list[i+1:]...)
		} else {
			fs.list[i] = f
		}
		return f, true
	}
	return Fault{}, false
}

var errInjected = errors.New("injected fault")

// faultReader serves n bytes of r, then fails with err.
type faultReader struct {
	r   io.Reader
	n   int64
	err error
}

func (f *faultReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}
