package upload

import (
	"context"
	"sync"
)

// buffers hands out one upload's part buffers: at most conc at once, from
// the pool that uploads share when pooled, else new. Only
// the goroutine that reads the body takes and drops buffers; the parts'
// goroutines give them back on free. A buffer too small for the current
// part size is dropped when it comes back, and a bigger one made.
type buffers struct {
	conc   int
	pooled bool
	free   chan []byte

	count, maxCount int   // buffers held, and the most ever held at once
	bytes, maxBytes int64 // their capacity, and the most ever held

	// big is a first part's buffer larger than the part size, when the
	// threshold is: the buffer handed out is big[:p:p], and it holds all
	// of big until it is dropped.
	big []byte
}

func newBuffers(conc int, pooled bool) *buffers {
	return &buffers{conc: conc, pooled: pooled, free: make(chan []byte, conc)}
}

// alloc returns a buffer of n bytes, counted as held.
func (b *buffers) alloc(n int64) []byte {
	var buf []byte
	if b.pooled {
		buf = getBuffer(n)
	} else {
		buf = make([]byte, n)
	}
	b.add(buf)
	return buf
}

// add counts buf as held.
func (b *buffers) add(buf []byte) {
	b.count++
	b.bytes += int64(cap(buf))
	b.maxCount = max(b.maxCount, b.count)
	b.maxBytes = max(b.maxBytes, b.bytes)
}

// drop lets buf go, back to the pool if pooled.
func (b *buffers) drop(buf []byte) {
	b.count--
	if b.big != nil && cap(buf) > 0 && &buf[:1][0] == &b.big[0] {
		// Bytes read ahead may still be read from big: not pooled.
		b.bytes -= int64(cap(b.big))
		b.big = nil
		return
	}
	b.bytes -= int64(cap(buf))
	if b.pooled {
		putBuffer(buf)
	}
}

// get returns a buffer of n bytes: a free one, a new one while fewer than
// conc are held, or, waiting, the next one a part gives back. It fails
// with ctx's cause when ctx ends first.
func (b *buffers) get(ctx context.Context, n int64) ([]byte, error) {
	for {
		var buf []byte
		select {
		case buf = <-b.free:
		default:
			if b.count < b.conc {
				return b.alloc(n), nil
			}
			select {
			case buf = <-b.free:
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		}
		if int64(cap(buf)) >= n {
			return buf[:n], nil
		}
		b.drop(buf) // the part size grew
	}
}

// drain drops the free buffers, once no part is in flight.
func (b *buffers) drain() {
	for {
		select {
		case buf := <-b.free:
			b.drop(buf)
		default:
			return
		}
	}
}

// Buffers are pooled by capacity, so that uploads reuse each other's.
var pools sync.Map // int64 -> *sync.Pool of *[]byte

// getBuffer returns a buffer of n bytes, from the pool when it has one.
func getBuffer(n int64) []byte {
	if p, ok := pools.Load(n); ok {
		if b, ok := p.(*sync.Pool).Get().(*[]byte); ok {
			return (*b)[:n]
		}
	}
	return make([]byte, n)
}

// putBuffer gives b to the pool of its capacity. Only its first cap(b)
// bytes are ever written again.
func putBuffer(b []byte) {
	n := int64(cap(b))
	p, _ := pools.LoadOrStore(n, &sync.Pool{})
	b = b[:n]
	p.(*sync.Pool).Put(&b)
}
