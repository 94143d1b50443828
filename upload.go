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
	// itself, atomically), part size and concurrency.
	PutOptions
	// Progress, when not nil, is called with the bytes read from the file
	// so far and the file's size: first with done == 0, then at least every
	// MiB, and last with done == total once the whole file has been read.
	// A driver that buffers parts reads ahead of the network by up to
	// Concurrency × PartSize, so the last call can come before the upload
	// is acknowledged: it is UploadFile returning nil that says the object
	// is stored. The calls never overlap, done never decreases, and the
	// upload waits while Progress runs, so it should return quickly.
	Progress func(done, total int64)
}

// UploadFile writes the regular file at path to key with the Store's Put,
// and returns the stored object's attributes.
//
// The Put sees a body whose Len method reports the file's size, so that
// drivers that size their buffers or parts from it can. The preconditions
// in opts.PutOptions are the Put's own: IfAbsent on an existing key gives
// ErrExists and a stale IfMatch gives ErrPrecondition, with the previous
// object untouched. If the file changes size or modification time while it
// is read, the body fails before its end, so that the Put stores nothing,
// and UploadFile returns an error saying the file changed. On any error,
// the cancellation of ctx included, the previous object at key is left as
// it was (see Store.Put). Errors are the Store's (*Error), or a local file
// system error wrapped with the key and path; a path that is not a regular
// file (a directory, a device) is refused before anything is sent.
//
// The file is read as one stream; drivers upload large bodies in parts of
// opts.PartSize, opts.Concurrency at a time.
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
	// A driver able to upload parts read through io.ReaderAt, and to retry
	// one failed part on its own, would be used here through an optional
	// interface, checked with a type assertion on s, the way io/fs helpers
	// use ReadFileFS; Put with a sequential body is the fallback every
	// Store has.
	prog := newProgress(o.Progress)
	prog.start(fi.Size())
	body := &fileBody{ctx: ctx, f: f, size: fi.Size(), modTime: fi.ModTime(), prog: prog}
	put := o.PutOptions
	return s.Put(ctx, key, body, &put)
}

// errFileChanged is the cause of an upload's failure when the file changed
// while it was read.
var errFileChanged = errors.New("the file changed while it was uploaded; nothing was stored")

// fileBody serves the first size bytes of f, and fails instead of ending
// when f no longer has the size and modification time it had at the start.
type fileBody struct {
	ctx     context.Context
	f       *os.File
	size    int64
	modTime time.Time
	read    int64
	prog    *progress
}

// Len reports the bytes left, like bytes.Reader's Len, for drivers that
// plan their buffers from it.
func (b *fileBody) Len() int {
	return int(min(b.size-b.read, math.MaxInt))
}

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
	b.prog.add(int64(n))
	return n, err
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
