// Package faults injects failures into any objstore.Store, so that tests
// of code built on objstore can exercise their error handling against the
// memory store or a real one alike. It is a Store wrapper: Wrap returns a
// Store that passes every call to the one it wraps unless a Fault
// injected with Inject matches it. Wrappers compose the way
// http.RoundTrippers do: each is a Store over another.
package faults

import (
	"context"
	"errors"
	"io"
	"iter"
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

// Fault describes a failure to inject. See Store.Inject.
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
	// after reading AfterBytes bytes of its body (the wrapped store then
	// leaves the previous state, as every Put must). Zero fails the call
	// itself.
	AfterBytes int64
	// Times is how many matching calls fail; zero means once.
	Times int
}

// Store is a Store with failures on demand.
type Store struct {
	objstore.Store
	driver string

	pending atomic.Int32 // len(list), read without the lock on every call
	mu      sync.Mutex
	list    []Fault
}

// Wrap returns s with failure injection. driverName names the store in
// the injected errors ("mem", "s3").
func Wrap(s objstore.Store, driverName string) *Store {
	return &Store{Store: s, driver: driverName}
}

// Inject arranges for the next matching operations to fail as f
// describes. Faults fire in the order they were injected.
func (s *Store) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.Err == nil {
		f.Err = objstore.ErrThrottled
	}
	s.mu.Lock()
	s.list = append(s.list, f)
	s.pending.Store(int32(len(s.list)))
	s.mu.Unlock()
}

// Clear removes every fault not yet fired.
func (s *Store) Clear() {
	s.mu.Lock()
	s.list = nil
	s.pending.Store(0)
	s.mu.Unlock()
}

// take returns the first fault matching op and one of keys, consuming one
// of its Times.
func (s *Store) take(op Op, keys ...string) (Fault, bool) {
	if s.pending.Load() == 0 {
		return Fault{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() { s.pending.Store(int32(len(s.list))) }()
	for i, f := range s.list {
		if f.Op != OpAny && f.Op != op {
			continue
		}
		if f.Key != "" && !slices.Contains(keys, f.Key) {
			continue
		}
		f.Times--
		if f.Times == 0 {
			s.list = append(s.list[:i], s.list[i+1:]...)
		} else {
			s.list[i] = f
		}
		return f, true
	}
	return Fault{}, false
}

var errInjected = errors.New("injected fault")

func (s *Store) fail(op Op, key string, kind error) error {
	return &objstore.Error{Driver: s.driver, Op: string(op), Key: key, Kind: kind, Err: errInjected}
}

// call returns the fault for a call of op on keys: an error to return
// now, or a fault on the body (AfterBytes) for Get and Put to apply.
func (s *Store) call(op Op, keys ...string) (body *Fault, err error) {
	f, ok := s.take(op, keys...)
	switch {
	case !ok:
		return nil, nil
	case f.AfterBytes > 0 && (op == OpGet || op == OpPut):
		return &f, nil
	}
	key := ""
	if len(keys) > 0 {
		key = keys[0]
	}
	return nil, s.fail(op, key, f.Err)
}

func (s *Store) Stat(ctx context.Context, key string) (objstore.Attrs, error) {
	if _, err := s.call(OpStat, key); err != nil {
		return objstore.Attrs{}, err
	}
	return s.Store.Stat(ctx, key)
}

func (s *Store) Get(ctx context.Context, key string, opts *objstore.GetOptions) (*objstore.Reader, error) {
	f, err := s.call(OpGet, key)
	if err != nil {
		return nil, err
	}
	r, err := s.Store.Get(ctx, key, opts)
	if err != nil || f == nil {
		return r, err
	}
	body := &breaking{r: r, n: f.AfterBytes, err: s.fail(OpGet, key, f.Err)}
	return objstore.NewReader(body, r.Attrs, r.Offset, r.Length), nil
}

func (s *Store) Put(ctx context.Context, key string, body io.Reader, opts *objstore.PutOptions) (objstore.Attrs, error) {
	f, err := s.call(OpPut, key)
	if err != nil {
		return objstore.Attrs{}, err
	}
	if f != nil {
		if body == nil {
			body = eof{}
		}
		body = &breaking{r: body, n: f.AfterBytes, err: s.fail(OpPut, key, f.Err)}
	}
	return s.Store.Put(ctx, key, body, opts)
}

func (s *Store) Delete(ctx context.Context, key string) error {
	if _, err := s.call(OpDelete, key); err != nil {
		return err
	}
	return s.Store.Delete(ctx, key)
}

func (s *Store) Copy(ctx context.Context, dst, src string, opts *objstore.CopyOptions) (objstore.Attrs, error) {
	if _, err := s.call(OpCopy, dst, src); err != nil {
		return objstore.Attrs{}, err
	}
	return s.Store.Copy(ctx, dst, src, opts)
}

func (s *Store) List(ctx context.Context, opts *objstore.ListOptions) iter.Seq2[objstore.Entry, error] {
	if _, err := s.call(OpList); err != nil {
		return func(yield func(objstore.Entry, error) bool) { yield(objstore.Entry{}, err) }
	}
	return s.Store.List(ctx, opts)
}

// breaking serves n bytes of r, then fails with err.
type breaking struct {
	r   io.Reader
	n   int64
	err error
}

func (b *breaking) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, b.err
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	return n, err
}

func (b *breaking) Close() error {
	if c, ok := b.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

type eof struct{}

func (eof) Read([]byte) (int, error) { return 0, io.EOF }
