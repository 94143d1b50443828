// Package ctxio holds the context-aware body readers the drivers share.
package ctxio

import (
	"context"
	"errors"
	"io"
)

// Reader fails every Read once Ctx is done, so that a body that knows
// nothing of the context still stops an upload, or an in-memory read,
// promptly.
type Reader struct {
	Ctx context.Context
	R   io.Reader
}

func (c *Reader) Read(p []byte) (int, error) {
	if err := c.Ctx.Err(); err != nil {
		return 0, err
	}
	return c.R.Read(p)
}

// ReadSeeker is a Reader that seeks as R does: a request body that the
// SDK can still rewind, and hash before it sends it. The AWS SDK reads a
// whole body to sign it over plain http, without looking at the context;
// for a 5 MiB part on a busy machine that took up to 600 ms after a
// cancel. ReadSeeker stops it at the next Read.
type ReadSeeker struct {
	Ctx context.Context
	R   io.ReadSeeker
}

func (c *ReadSeeker) Read(p []byte) (int, error) {
	if err := c.Ctx.Err(); err != nil {
		return 0, err
	}
	return c.R.Read(p)
}

func (c *ReadSeeker) Seek(offset int64, whence int) (int64, error) {
	return c.R.Seek(offset, whence)
}

// Bytes is a context-aware reader over a byte slice, a request body the
// SDKs can rewind. It is also an io.WriterTo, so that io.Copy from it (the
// AWS SDK hashing a part to sign it, the transport sending it) needs no
// 32 KiB buffer of its own: in a 5 GiB multipart put those two buffers per
// part were most of the garbage, and took the heap's peak from the part
// buffers' 32 MiB to the GC's goal of twice that. WriteTo writes at most
// writeChunk bytes at a time and checks the context before each write, as
// Read does before each read.
type Bytes struct {
	Ctx context.Context
	B   []byte
	off int64
}

// writeChunk is the most WriteTo writes between checks of the context.
const writeChunk = 256 << 10

func (b *Bytes) Read(p []byte) (int, error) {
	if err := b.Ctx.Err(); err != nil {
		return 0, err
	}
	if b.off >= int64(len(b.B)) {
		return 0, io.EOF
	}
	n := copy(p, b.B[b.off:])
	b.off += int64(n)
	return n, nil
}

func (b *Bytes) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += b.off
	case io.SeekEnd:
		offset += int64(len(b.B))
	default:
		return 0, errors.New("ctxio.Bytes.Seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("ctxio.Bytes.Seek: negative position")
	}
	b.off = offset
	return offset, nil
}

// Len returns the number of bytes not yet read.
func (b *Bytes) Len() int { return max(len(b.B)-int(b.off), 0) }

func (b *Bytes) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for b.off < int64(len(b.B)) {
		if err := b.Ctx.Err(); err != nil {
			return total, err
		}
		chunk := b.B[b.off:min(b.off+writeChunk, int64(len(b.B)))]
		n, err := w.Write(chunk)
		b.off += int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
		if n < len(chunk) {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}
