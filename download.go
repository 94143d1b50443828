package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// The defaults of DownloadOptions.
const (
	DefaultDownloadConcurrency = 4
	DefaultDownloadChunkSize   = 8 << 20
)

// parallelPays decides, from the rate of one stream (the first chunk,
// read alone) and of two (the next two chunks, read at once), in bytes
// per second, whether more streams would speed the download up: when two
// streams were not a quarter faster than one, the limit is this machine
// (its CPU, disk or link), not each connection, and more streams only
// share it. A test replaces it.
var parallelPays = func(one, two float64) bool { return two >= 1.25*one }

// copyBufferSize bounds the buffer each reading goroutine of a download
// holds; a smaller ChunkSize lowers it to ChunkSize.
const copyBufferSize = 1 << 20

// DownloadOptions adjusts DownloadFile. The zero value, like a nil
// *DownloadOptions, means the defaults.
type DownloadOptions struct {
	// Mode is the permission of the file created, before the umask is
	// applied, as with os.WriteFile. Zero means 0o644. Only permission
	// bits are accepted.
	Mode fs.FileMode
	// Concurrency is how many ranged reads run at once for an object above
	// Threshold. Zero means DefaultDownloadConcurrency; 1 reads every
	// object with one stream, whatever its size.
	Concurrency int
	// ChunkSize is the length of each ranged read. Zero means
	// DefaultDownloadChunkSize.
	ChunkSize int64
	// Threshold, when positive, is the size above which an object is read
	// with parallel ranged reads of ChunkSize bytes rather than one
	// stream; a negative Threshold makes every object larger than
	// ChunkSize parallel. Zero, the default, decides by measuring: an
	// object of at most 3 chunks is read with one Get; of a larger one the
	// first chunk is read alone, then the next two at once, and the rest
	// in parallel ranged reads only if two streams were at least 1.25
	// times as fast as one, otherwise with one more Get
	// (docs/benchmarks.md has the measurements behind the rule).
	Threshold int64
	// progress, when not nil, is called with the bytes written to the file
	// so far and the object's size: first with done == 0, then at least
	// every MiB, and last with done == total when the download completes.
	// The calls never overlap, done never decreases (except that a restart
	// for an object replaced by a smaller one starts again from 0 with the
	// new total), and the transfer waits while progress runs, so it should
	// return quickly.
	Progress func(done, total int64)
	// NoSync skips the two syncs: of the file before the rename, and of
	// its directory after it. The rename stays atomic, so other processes
	// still see either the previous content of path or the whole object;
	// but a crash of the machine (not of the process) shortly after
	// DownloadFile returns may leave path empty, partial or missing, as
	// with os.WriteFile. The default syncs. The SDKs' download helpers
	// (S3 transfer manager, azblob DownloadFile) do not sync.
	NoSync bool
}

// DownloadFile copies the object at key to the local file path atomically:
// path holds either its previous content or the whole object, never a
// part of it, and never a mix of two versions.
//
// DownloadFile reads the object's first chunk with one ranged Get, which
// also says the object's size and ETag (rule G2), so that an object of
// one chunk costs one request and no Stat. It writes the object to a new
// temporary file in the directory of path (named "."+base+".objstore-" and
// a random suffix), syncs it, renames it over path and syncs the directory
// (opts.NoSync skips both syncs, not the rename). Every later read is
// pinned to the ETag that first Get returned (GetOptions.IfMatch). An object of
// at most opts.Threshold bytes (by default, 3 chunks) is read with one
// Get; a larger one with parallel ranged Gets of opts.ChunkSize bytes,
// opts.Concurrency at a time (with the default Threshold, only when two
// streams measured on the first three chunks were faster than one;
// otherwise one more Get reads the rest),
// written in place with WriteAt, so that memory stays bounded by
// (Concurrency + 1) × min(ChunkSize, 1 MiB) of buffers besides what the
// driver holds. A zero-byte object is not read at all: path becomes an empty
// file.
//
// If the object changes during the download (a pinned read fails with
// ErrPrecondition), DownloadFile starts over once, with a fresh Get; if
// it changes again, the ErrPrecondition is returned. A Store whose Get
// cannot take IfMatch gives ErrUnsupported: without pinned reads, chunks
// of two versions could meet in one file that looks complete.
//
// It returns the attributes of the object written. On any error, the
// cancellation of ctx included, the temporary file is removed and an
// existing file at path is left untouched; the error is the Store's
// (*Error: ErrNotFound for a missing key, ErrPrecondition, a context error
// for a cancellation), or a local file system error wrapped with the key
// and path. A missing destination directory is an error wrapping
// fs.ErrNotExist; DownloadFile does not create directories. A directory at
// path is an error; a symbolic link at path is replaced, not followed.
// Should the final directory sync fail, path already holds the new
// content, but the rename may not survive a crash; the error says so.
func DownloadFile(ctx context.Context, s Store, key, path string, opts *DownloadOptions) (Attrs, error) {
	var o DownloadOptions
	if opts != nil {
		o = *opts
	}
	if err := o.fill(); err != nil {
		return Attrs{}, localError("download", key, path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := checkDestination(dir, path); err != nil {
		return Attrs{}, localError("download", key, path, err)
	}
	d := &download{s: s, key: key, path: path, dir: dir, base: base, opts: &o, prog: newProgress(o.Progress),
		adaptive: o.Threshold == 0}
	for attempt := 1; ; attempt++ {
		// One ranged Get finds the object, says its attributes (G2) and
		// brings its first chunk: no Stat.
		d.firstStart = time.Now()
		first, err := s.Get(ctx, key, &GetOptions{Range: &Range{Offset: 0, Length: o.ChunkSize}})
		if err != nil {
			return Attrs{}, err
		}
		attrs := first.Attrs
		if attrs.ETag == "" {
			first.Close()
			return Attrs{}, localError("download", key, path,
				errors.New("the store returned no ETag for the object, and a download must pin its reads to one"))
		}
		err = d.once(ctx, attrs, first)
		if err == nil {
			return attrs, nil
		}
		if attempt == 2 || !errors.Is(err, ErrPrecondition) || ctx.Err() != nil {
			return Attrs{}, err
		}
	}
}

// fill applies the defaults and checks the options.
func (o *DownloadOptions) fill() error {
	switch {
	case o.Mode&^fs.ModePerm != 0:
		return fmt.Errorf("%w: DownloadOptions.Mode %v has bits other than permissions; give permission bits only, such as 0o644", ErrInvalidArgument, o.Mode)
	case o.Concurrency < 0:
		return fmt.Errorf("%w: DownloadOptions.Concurrency is %d; give 0 for the default (%d) or a positive number", ErrInvalidArgument, o.Concurrency, DefaultDownloadConcurrency)
	case o.ChunkSize < 0:
		return fmt.Errorf("%w: DownloadOptions.ChunkSize is %d; give 0 for the default (%d) or a positive size", ErrInvalidArgument, o.ChunkSize, DefaultDownloadChunkSize)
	}
	if o.Mode == 0 {
		o.Mode = 0o644
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultDownloadConcurrency
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultDownloadChunkSize
	}
	return nil
}

// checkDestination fails, before anything is read, when dir is not an
// existing directory or path is a directory.
func checkDestination(dir, path string) error {
	if filepath.Base(path) == "." || filepath.Base(path) == ".." || path == "" || os.IsPathSeparator(path[len(path)-1]) {
		return fmt.Errorf("the destination %q names a directory, not a file", path)
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("the destination directory %s does not exist; create it first: %w", dir, err)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("the destination's parent %s is not a directory", dir)
	}
	if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("the destination %s is a directory", path)
	}
	return nil
}

// download is one DownloadFile call.
type download struct {
	s         Store
	key, path string
	dir, base string
	opts      *DownloadOptions
	prog      *progress
	// adaptive: the default Threshold, so the first chunks' rates decide
	// between one stream and parallel reads.
	adaptive bool
	// firstStart is when the Get of the first chunk was sent.
	firstStart time.Time
}

// once downloads the version attrs describes, whose first chunk first
// serves, and renames it over path. It closes first.
func (d *download) once(ctx context.Context, attrs Attrs, first *Reader) error {
	defer first.Close()
	d.prog.Start(attrs.Size)
	f, tmp, err := createTemp(d.dir, d.base, d.opts.Mode)
	if err != nil {
		return localError("download", d.key, d.path, err)
	}
	if err := d.write(ctx, f, attrs, first); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if d.opts.NoSync {
		return nil
	}
	if err := syncDir(d.dir); err != nil {
		return localError("download", d.key, d.path,
			fmt.Errorf("the file is in place, but syncing its directory failed, so the rename may not survive a crash: %w", err))
	}
	return nil
}

// write fills f, the first chunk from first, syncs and closes it, and
// renames it over path. first is closed once its chunk is read, so that
// no more than Concurrency bodies are open at once.
func (d *download) write(ctx context.Context, f *os.File, attrs Attrs, first *Reader) error {
	var err error
	chunk := d.opts.ChunkSize
	switch {
	case attrs.Size == 0:
	case d.adaptive && attrs.Size > 3*chunk && d.opts.Concurrency > 1:
		err = d.measured(ctx, f, attrs, first)
	case !d.adaptive && attrs.Size > d.opts.Threshold && attrs.Size > chunk && d.opts.Concurrency > 1:
		buf := make([]byte, min(chunk, copyBufferSize))
		err = d.copyRange(ctx, f, attrs, first, &Range{Offset: 0, Length: chunk}, buf)
		first.Close()
		if err == nil {
			err = d.parallel(ctx, f, attrs, 1, d.chunks(attrs), d.opts.Concurrency)
		}
	default:
		buf := make([]byte, min(attrs.Size, chunk, copyBufferSize))
		err = d.copyRange(ctx, f, attrs, first, &Range{Offset: 0, Length: min(chunk, attrs.Size)}, buf)
		first.Close()
		if err == nil && attrs.Size > chunk {
			err = d.readRange(ctx, f, attrs, &Range{Offset: chunk, Length: attrs.Size - chunk}, buf)
		}
	}
	if err != nil {
		return err
	}
	// A cancel that came after the last byte still wins: nothing has
	// replaced path yet.
	if err := ctx.Err(); err != nil {
		return err
	}
	if !d.opts.NoSync {
		if err := syncFile(f); err != nil {
			return localError("download", d.key, d.path, err)
		}
	}
	if err := f.Close(); err != nil {
		return localError("download", d.key, d.path, err)
	}
	if err := os.Rename(f.Name(), d.path); err != nil {
		return localError("download", d.key, d.path, err)
	}
	return nil
}

// measured reads the first chunk alone (from first, whose Get was sent at
// d.firstStart), then the next two at once, and the rest in parallel if
// parallelPays says so, else with one more Get.
func (d *download) measured(ctx context.Context, f *os.File, attrs Attrs, first *Reader) error {
	chunk := d.opts.ChunkSize
	buf := make([]byte, min(chunk, copyBufferSize))
	err := d.copyRange(ctx, f, attrs, first, &Range{Offset: 0, Length: chunk}, buf)
	first.Close()
	if err != nil {
		return err
	}
	one := float64(chunk) / time.Since(d.firstStart).Seconds()
	start := time.Now()
	if err := d.parallel(ctx, f, attrs, 1, 3, 2); err != nil {
		return err
	}
	two := float64(2*chunk) / time.Since(start).Seconds()
	if parallelPays(one, two) {
		return d.parallel(ctx, f, attrs, 3, d.chunks(attrs), d.opts.Concurrency)
	}
	return d.readRange(ctx, f, attrs, &Range{Offset: 3 * chunk, Length: attrs.Size - 3*chunk}, buf)
}

// chunks is how many chunks the object attrs describes has.
func (d *download) chunks(attrs Attrs) int64 {
	return (attrs.Size + d.opts.ChunkSize - 1) / d.opts.ChunkSize
}

// parallel reads the chunks [first, chunks) of the object, workers at a
// time, each written at its offset. The first error cancels the other
// reads.
func (d *download) parallel(ctx context.Context, f *os.File, attrs Attrs, first, chunks int64, workers int) error {
	chunk := d.opts.ChunkSize
	workers = int(min(int64(workers), chunks-first))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next, done atomic.Int64 // chunk indexes
		wg         sync.WaitGroup
		errOnce    sync.Once
		firstErr   error
	)
	next.Store(first)
	done.Store(first)
	for range workers {
		wg.Go(func() {
			buf := make([]byte, min(chunk, copyBufferSize))
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= chunks {
					return
				}
				off := i * chunk
				if err := d.readRange(ctx, f, attrs, &Range{Offset: off, Length: min(chunk, attrs.Size-off)}, buf); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr == nil && done.Load() != chunks {
		// No read failed, but a cancel stopped the loop early.
		return ctx.Err()
	}
	return firstErr
}

// readRange reads rng (nil: all) of the version attrs describes into f at
// the range's offset, using buf.
func (d *download) readRange(ctx context.Context, f *os.File, attrs Attrs, rng *Range, buf []byte) error {
	r, err := d.get(ctx, attrs, rng)
	if err != nil {
		return err
	}
	defer r.Close()
	return d.copyRange(ctx, f, attrs, r, rng, buf)
}

// copyRange writes what r serves, which must be rng (nil: all) of the
// version attrs describes, into f at the range's offset, using buf.
func (d *download) copyRange(ctx context.Context, f *os.File, attrs Attrs, r *Reader, rng *Range, buf []byte) error {
	wantOff, want := int64(0), attrs.Size
	if rng != nil {
		wantOff, want = rng.Offset, rng.Length
	}
	if r.Offset != wantOff || r.Length != want || r.Attrs.Size != attrs.Size {
		return localError("download", d.key, d.path,
			fmt.Errorf("the store served %d bytes at offset %d of an object of %d where %d at offset %d of %d were asked for",
				r.Length, r.Offset, r.Attrs.Size, want, wantOff, attrs.Size))
	}
	off := r.Offset
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Fill buf before writing: a pwrite per body read made the
		// writes, not the network, the cost of a download.
		n, rerr := r.fill(buf)
		if n > 0 {
			if _, err := f.WriteAt(buf[:n], off); err != nil {
				return localError("download", d.key, d.path, err)
			}
			off += int64(n)
			d.prog.Add(int64(n))
		}
		switch {
		case rerr == io.EOF:
			return nil
		case rerr != nil:
			return rerr
		}
	}
}

// get opens rng of the version attrs describes, pinned with IfMatch.
func (d *download) get(ctx context.Context, attrs Attrs, rng *Range) (*Reader, error) {
	return d.s.Get(ctx, d.key, &GetOptions{Range: rng, IfMatch: attrs.ETag})
}

// maxTempBase bounds the part of the destination's name repeated in the
// temporary file's, so that the latter stays within NAME_MAX (255).
const maxTempBase = 200

// createTemp creates a new file in dir, named after base, with mode perm
// before the umask, like os.CreateTemp but with a mode of the caller's.
func createTemp(dir, base string, perm fs.FileMode) (*os.File, string, error) {
	if len(base) > maxTempBase {
		base = base[:maxTempBase]
		for len(base) > 0 && !utf8.ValidString(base) {
			base = base[:len(base)-1]
		}
	}
	for range 10000 {
		name := filepath.Join(dir, "."+base+".objstore-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("could not find a free temporary file name in %s", dir)
}

// syncFile syncs f; a test counts the calls.
var syncFile = (*os.File).Sync

// syncDir makes a rename in dir durable. Windows cannot sync a directory,
// and makes renames durable on its own.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = syncFile(d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
