package memory_test

// Benchmarks of the memory driver beside gocloud.dev's memblob and a plain
// map guarded by a sync.RWMutex (the floor: no validation, no attributes),
// all doing the same work in the same run. docs/benchmarks.md has the
// figures and the command.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/memory"
)

// kv is the work each contender does.
type kv interface {
	put(ctx context.Context, key string, data []byte) error
	get(ctx context.Context, key string, buf []byte) error
	stat(ctx context.Context, key string) error
	list(ctx context.Context) (int, error)
}

type objstoreKV struct{ s objstore.Store }

func (o objstoreKV) put(ctx context.Context, key string, data []byte) error {
	_, err := o.s.Put(ctx, key, bytes.NewReader(data), nil)
	return err
}

func (o objstoreKV) get(ctx context.Context, key string, buf []byte) error {
	r, err := o.s.Get(ctx, key, nil)
	if err != nil {
		return err
	}
	_, err = io.ReadFull(r, buf[:r.Length])
	r.Close()
	return err
}

func (o objstoreKV) stat(ctx context.Context, key string) error {
	_, err := o.s.Stat(ctx, key)
	return err
}

func (o objstoreKV) list(ctx context.Context) (int, error) {
	n := 0
	for _, err := range o.s.List(ctx, nil) {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

type memblobKV struct{ b *blob.Bucket }

func (m memblobKV) put(ctx context.Context, key string, data []byte) error {
	return m.b.WriteAll(ctx, key, data, nil)
}

func (m memblobKV) get(ctx context.Context, key string, buf []byte) error {
	r, err := m.b.NewReader(ctx, key, nil)
	if err != nil {
		return err
	}
	_, err = io.ReadFull(r, buf[:r.Size()])
	r.Close()
	return err
}

func (m memblobKV) stat(ctx context.Context, key string) error {
	_, err := m.b.Attributes(ctx, key)
	return err
}

func (m memblobKV) list(ctx context.Context) (int, error) {
	it := m.b.List(nil)
	n := 0
	for {
		_, err := it.Next(ctx)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// floorKV is the least a store can do: a map and a lock.
type floorKV struct {
	mu sync.RWMutex
	m  map[string][]byte
}

func (f *floorKV) put(_ context.Context, key string, data []byte) error {
	// The least a store can do with a body: one exact allocation.
	b := make([]byte, len(data))
	if _, err := io.ReadFull(bytes.NewReader(data), b); err != nil {
		return err
	}
	f.mu.Lock()
	f.m[key] = b
	f.mu.Unlock()
	return nil
}

func (f *floorKV) get(_ context.Context, key string, buf []byte) error {
	f.mu.RLock()
	b, ok := f.m[key]
	f.mu.RUnlock()
	if !ok {
		return objstore.ErrNotFound
	}
	_, err := io.ReadFull(bytes.NewReader(b), buf[:len(b)])
	return err
}

func (f *floorKV) stat(_ context.Context, key string) error {
	f.mu.RLock()
	_, ok := f.m[key]
	f.mu.RUnlock()
	if !ok {
		return objstore.ErrNotFound
	}
	return nil
}

func (f *floorKV) list(context.Context) (int, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	n := 0
	for range f.m {
		n++
	}
	return n, nil
}

var contenders = []struct {
	name string
	open func() kv
}{
	{"objstore", func() kv { return objstoreKV{memory.New()} }},
	{"memblob", func() kv { return memblobKV{memblob.OpenBucket(nil)} }},
	{"floor", func() kv { return &floorKV{m: map[string][]byte{}} }},
}

const nKeys = 1000

var keys = func() []string {
	out := make([]string, nKeys)
	for i := range out {
		out[i] = fmt.Sprintf("bench/dir%02d/key-%04d", i%50, i)
	}
	return out
}()

func filled(b *testing.B, open func() kv, size int) kv {
	ctx := context.Background()
	s := open()
	data := bytes.Repeat([]byte{'x'}, size)
	for _, k := range keys {
		if err := s.put(ctx, k, data); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkPutGet4KiB is the headline: one 4 KiB put and one get of it.
func BenchmarkPutGet4KiB(b *testing.B) {
	ctx := context.Background()
	data := bytes.Repeat([]byte{'x'}, 4096)
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			s := filled(b, c.open, 4096)
			buf := make([]byte, 4096)
			b.SetBytes(2 * 4096)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k := keys[i%nKeys]
				i++
				if err := s.put(ctx, k, data); err != nil {
					b.Fatal(err)
				}
				if err := s.get(ctx, k, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPut4KiB(b *testing.B) {
	ctx := context.Background()
	data := bytes.Repeat([]byte{'x'}, 4096)
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			s := filled(b, c.open, 4096)
			b.SetBytes(4096)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := s.put(ctx, keys[i%nKeys], data); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkGet4KiB(b *testing.B) {
	ctx := context.Background()
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			s := filled(b, c.open, 4096)
			buf := make([]byte, 4096)
			b.SetBytes(4096)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := s.get(ctx, keys[i%nKeys], buf); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkStat(b *testing.B) {
	ctx := context.Background()
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			s := filled(b, c.open, 16)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := s.stat(ctx, keys[i%nKeys]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkList1000 lists 1000 keys, flat.
func BenchmarkList1000(b *testing.B) {
	ctx := context.Background()
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			s := filled(b, c.open, 16)
			b.ReportAllocs()
			for b.Loop() {
				n, err := s.list(ctx)
				if err != nil || n != nKeys {
					b.Fatalf("listed %d keys, err %v", n, err)
				}
			}
		})
	}
}

// BenchmarkPutGet4KiBParallel is the headline under concurrent callers.
func BenchmarkPutGet4KiBParallel(b *testing.B) {
	data := bytes.Repeat([]byte{'x'}, 4096)
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			s := filled(b, c.open, 4096)
			b.SetBytes(2 * 4096)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				buf := make([]byte, 4096)
				i := 0
				for pb.Next() {
					k := keys[i%nKeys]
					i += 7
					if err := s.put(ctx, k, data); err != nil {
						b.Error(err)
						return
					}
					if err := s.get(ctx, k, buf); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
