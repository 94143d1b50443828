package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// UploadOptions adjusts UploadFile. The zero value, like a nil
// *UploadOptions, means the defaults.
type UploadOptions struct {
	// PutOptions are passed to the Store's Put as they are: content type,
	// metadata, the IfAbsent and IfMatch conditions (checked by the Put
	// itself, atomically), part size, concurrency and progress (unless
	// progress below is set).
	PutOptions
	// progress, when not nil, is passed to the Put as PutOptions.Progress,
	// in place of the one in PutOptions: it is called with the bytes the
	// store has accepted so far and the file's size, first with done == 0,
	// then at most about once per MiB, and last with done == total when
	// the upload succeeds (rule P8). The calls never overlap, done never
	// decreases, no call comes after UploadFile returns, and the upload
	// waits while progress runs, so it should return quickly.
	Progress func(done, total int64)
}

// UploadFile writes the regular file at path to key with the Store's Put,
// and returns the stored object's attributes.
//
// The Put sees a body that implements io.ReaderAt and Size, so that
// drivers that upload in parts (s3, azblob) read the parts from the file
// in parallel, opts.Concurrency at a time, without part buffers, and can
// send a failed part again on its own; other drivers read it as a stream,
// whose Len method reports the bytes left. The preconditions in
// opts.PutOptions are the Put's own: IfAbsent on an existing key gives
// ErrExists and a stale IfMatch gives ErrPrecondition, with the previous
// object untouched. Every read of the file checks that it still has the
// size and modification time it had at the start; a read that finds it
// changed fails, so that the Put stores nothing, and UploadFile returns an
// error saying the file changed. On any error, the cancellation of ctx
// included, the previous object at key is left as it was (see Store.Put).
// Errors are the Store's (*Error), or a local file system error wrapped
// with the key and path; a path that is not a regular file (a directory,
// a device) is refused before anything is sent.
func UploadFile(ctx context.Context, s Store, key, path string, opts *UploadOptions) (Attrs, error) {
	var o UploadOptions
	if opts != nil {
		o = *opts
	}
	f, err := os.Open(path)
	if err != nil {
		return Attrs{}, localError("upload", key, path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Attrs{}, localError("upload", key, path, err)
	}
	if !fi.Mode().IsRegular() {
		return Attrs{}, localError("upload", key, path,
			fmt.Errorf("%w: %s is not a regular file (mode %v)", ErrInvalidArgument, path, fi.Mode()))
	}
	body := &fileBody{ctx: ctx, f: f, size: fi.Size(), modTime: fi.ModTime()}
	put := o.PutOptions
	if o.Progress != nil {
		put.Progress = o.Progress
	}
	return s.Put(ctx, key, body, &put)
}

// errFileChanged is the cause of an upload's failure when the file changed
// while it was read.
var errFileChanged = errors.New("the file changed while it was uploaded; nothing was stored")

// fileBody serves the first size bytes of f, as a stream and through
// ReadAt, and fails instead of ending when f no longer has the size and
// modification time it had at the start. Read is for one goroutine; ReadAt
// may be called concurrently.
type fileBody struct {
	ctx     context.Context
	f       *os.File
	size    int64
	modTime time.Time
	read    int64 // by Read
}

// Len reports the bytes left to Read, like bytes.Reader's Len, for drivers
// that plan their buffers from it.
func (b *fileBody) Len() int {
	return int(min(b.size-b.read, math.MaxInt))
}

// Size reports the bytes the body holds, for drivers that read it with
// ReadAt.
func (b *fileBody) Size() int64 { return b.size }

func (b *fileBody) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	if b.read == b.size {
		return 0, b.check()
	}
	if rest := b.size - b.read; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.f.ReadAt(p, b.read)
	b.read += int64(n)
	switch {
	case b.read == b.size:
		// Check now rather than at the next Read: a driver that trusts Len
		// may never make it.
		if err := b.check(); err != io.EOF {
			return n, err
		}
		err = nil
	case err == io.EOF:
		return n, fmt.Errorf("%w: it is shorter than the %d bytes it had", errFileChanged, b.size)
	}
	return n, err
}

// ReadAt reads the bytes at off, and then checks the file: each part a
// driver reads in parallel is checked once it has been read, so the last
// read, whichever part it is in, sees any change made before it.
func (b *fileBody) ReadAt(p []byte, off int64) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	switch {
	case off < 0:
		return 0, fmt.Errorf("objstore: ReadAt at the negative offset %d", off)
	case off >= b.size:
		return 0, io.EOF
	}
	want := p
	if rest := b.size - off; int64(len(want)) > rest {
		want = want[:rest]
	}
	n, err := b.f.ReadAt(want, off)
	switch {
	case err == io.EOF && n < len(want):
		return n, fmt.Errorf("%w: it is shorter than the %d bytes it had", errFileChanged, b.size)
	case err != nil && err != io.EOF:
		return n, err
	}
	if err := b.check(); err != io.EOF {
		return n, err
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// check returns io.EOF if the file still has its size and modification
// time, and an error saying what changed if not.
func (b *fileBody) check() error {
	fi, err := b.f.Stat()
	switch {
	case err != nil:
		return err
	case fi.Size() != b.size:
		return fmt.Errorf("%w: its size went from %d to %d bytes", errFileChanged, b.size, fi.Size())
	case !fi.ModTime().Equal(b.modTime):
		return fmt.Errorf("%w: it was modified at %v", errFileChanged, fi.ModTime())
	}
	return io.EOF
}
