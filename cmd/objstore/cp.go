package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/objstore-go/objstore"
)

const cpAbout = `Copies SRC to DST. Each is a local path or an object URL; at least one is
a URL. Local files are read with objstore.UploadFile and written with
objstore.DownloadFile (atomically: a temporary file renamed into place).
Between two URLs of the same store the store copies on the server
(Store.Copy); between different stores the bytes are streamed from a Get
into a Put, with the content type and metadata.

A DST ending in "/" (or an existing local directory) gets SRC's base name
appended. SRC "-" reads stdin; DST "-" writes stdout.

With -r, SRC is a prefix taken as a directory ("dir" means "dir/"), or a
local directory: every object (regular file) under it is copied to DST
plus its relative key, like "aws s3 cp --recursive". Up to -j copies run
at once; every failure is reported at the end and the status is then 1.

A local destination's missing directories are created, for one file as
with -r, and removed again if the copy fails. --part-size and
--concurrency tune the transfer of one large object: the size of each
part (upload) or ranged read (download), and how many run at once.

A progress bar is drawn on stderr when it is a terminal (-q: never).
Ctrl-C stops the copy with status 130: an object or file is written whole
or not at all, so rerunning the command finishes the job.`

// copier carries out one cp invocation.
type copier struct {
	ctx         context.Context
	env         *env
	stores      *stores
	quiet       bool
	jobs        int
	contentType string
	partSize    int64
	concurrency int
	dirs        dirMaker
	// left says what an interrupt leaves behind; set as the copy starts.
	left   string
	copied atomic.Int64 // objects copied by tree
}

func cp(ctx context.Context, args []string, e *env) int {
	fs := newFlags("cp", "[-r] [-j N] [-q] [-content-type TYPE] SRC DST", cpAbout, e)
	recursive := fs.Bool("r", false, "copy every object under the prefix (or local directory) SRC")
	jobs := fs.Int("j", 16, "with -r, how many objects are copied at once")
	quiet := fs.Bool("q", false, "draw no progress bar, even on a terminal")
	ctype := fs.String("content-type", "", "content type of uploaded local files (default: guessed from the extension)")
	partSize := sizeValue(0)
	fs.Var(&partSize, "part-size", "for one large object: the size of each part or ranged read (default: the driver's)")
	concurrency := fs.Int("concurrency", 0, "for one large object: how many parts or ranged reads run at once (default: the driver's)")
	fs.alias("r", "recursive")
	fs.alias("j", "jobs")
	fs.alias("q", "quiet")
	if code := parseFlags(fs, args, 2); code >= 0 {
		return code
	}
	src, err := parseTarget(fs.Arg(0))
	if err != nil {
		return fail(e.stderr, "cp", err)
	}
	dst, err := parseTarget(fs.Arg(1))
	if err != nil {
		return fail(e.stderr, "cp", err)
	}
	switch {
	case !src.isURL() && !dst.isURL():
		return fail(e.stderr, "cp", usageErrorf("neither %q nor %q is a URL; use cp(1) between local paths", src, dst))
	case *jobs < 1:
		return fail(e.stderr, "cp", usageErrorf("-j %d: want at least 1", *jobs))
	case *concurrency < 0:
		return fail(e.stderr, "cp", usageErrorf("--concurrency %d: want at least 1", *concurrency))
	}
	c := &copier{ctx: ctx, env: e, stores: newStores(ctx), quiet: *quiet, jobs: *jobs, contentType: *ctype,
		partSize: int64(partSize), concurrency: *concurrency}
	defer c.stores.close()
	if *recursive {
		err = c.tree(src, dst)
	} else {
		err = c.one(src, dst)
	}
	if err != nil {
		c.dirs.undo()
		if interrupted(ctx) {
			return failInterrupted(e.stderr, "cp", c.left)
		}
		return fail(e.stderr, "cp", err)
	}
	return exitOK
}

// one copies a single object or file.
func (c *copier) one(src, dst target) error {
	if src.isURL() && (src.key == "" || strings.HasSuffix(src.key, "/")) {
		return usageErrorf("%s names a prefix, not an object; use cp -r to copy what is under it", src)
	}
	switch {
	case src.local == "-":
		if dst.local == "-" {
			return usageErrorf("cannot copy stdin to stdout")
		}
		if dst.key == "" || strings.HasSuffix(dst.key, "/") {
			return usageErrorf("%s names a prefix; copying stdin needs a destination key", dst)
		}
		st, err := c.stores.get(dst)
		if err != nil {
			return err
		}
		c.left = fmt.Sprintf("%s was not written", dst)
		bar := newBar(c.env.stderr, c.quiet, -1, dst.key)
		defer bar.finish()
		_, err = st.Put(c.ctx, dst.key, &countingReader{r: cancelable(c.ctx, c.env.stdin), left: -1, bar: bar},
			&objstore.PutOptions{ContentType: c.contentType})
		return err

	case !src.isURL():
		fi, err := os.Stat(src.local)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return usageErrorf("%s is a directory; use cp -r", src.local)
		}
		if dst.key == "" || strings.HasSuffix(dst.key, "/") {
			dst.key += filepath.Base(src.local)
		}
		c.left = fmt.Sprintf("%s was not written (an object it replaces is unchanged)", dst)
		return c.upload(src.local, dst, fi.Size(), nil)

	case dst.local == "-":
		st, err := c.stores.get(src)
		if err != nil {
			return err
		}
		r, err := st.Get(c.ctx, src.key, nil)
		if err != nil {
			return err
		}
		defer r.Close()
		n, err := io.Copy(c.env.stdout, r)
		c.left = fmt.Sprintf("the output stopped after %d of %d bytes", n, r.Length)
		return err

	case !dst.isURL():
		path := dst.local
		if strings.HasSuffix(path, string(filepath.Separator)) || strings.HasSuffix(path, "/") || isDir(path) {
			path = filepath.Join(path, baseName(src.key))
		}
		c.left = fmt.Sprintf("%s was not written (no partial file is left)", path)
		if err := c.dirs.mkdirAll(filepath.Dir(path)); err != nil {
			return err
		}
		return c.download(src, path, -1, nil)
	}
	if dst.key == "" || strings.HasSuffix(dst.key, "/") {
		dst.key += baseName(src.key)
	}
	c.left = fmt.Sprintf("%s was not written", dst)
	return c.transfer(src, dst, -1, nil)
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// upload copies the local file path to dst. A nil bar draws its own.
func (c *copier) upload(path string, dst target, size int64, b *bar) error {
	st, err := c.stores.get(dst)
	if err != nil {
		return err
	}
	if b == nil {
		b = newBar(c.env.stderr, c.quiet, size, dst.key)
		defer b.finish()
	}
	ctype := c.contentType
	if ctype == "" {
		ctype = mime.TypeByExtension(filepath.Ext(path))
	}
	_, err = objstore.UploadFile(c.ctx, st, dst.key, path, &objstore.UploadOptions{
		PutOptions: objstore.PutOptions{ContentType: ctype, PartSize: c.partSize, Concurrency: c.concurrency},
		Progress:   b.track(),
	})
	return err
}

// download copies src to the local file path. A nil bar draws its own;
// size is then looked up only if a bar is drawn.
func (c *copier) download(src target, path string, size int64, b *bar) error {
	st, err := c.stores.get(src)
	if err != nil {
		return err
	}
	if b == nil && !c.quiet && isTerminal(c.env.stderr) {
		attrs, err := st.Stat(c.ctx, src.key)
		if err != nil {
			return err
		}
		b = newBar(c.env.stderr, c.quiet, attrs.Size, src.key)
		defer b.finish()
	}
	_, err = objstore.DownloadFile(c.ctx, st, src.key, path, &objstore.DownloadOptions{
		Progress: b.track(), Concurrency: c.concurrency, ChunkSize: c.partSize})
	return err
}

// transfer copies between two URLs: on the server within one store,
// through this process between two.
func (c *copier) transfer(src, dst target, size int64, b *bar) error {
	from, err := c.stores.get(src)
	if err != nil {
		return err
	}
	to, err := c.stores.get(dst)
	if err != nil {
		return err
	}
	if src.store == dst.store {
		attrs, err := from.Copy(c.ctx, dst.key, src.key, nil)
		if err == nil {
			b.add(attrs.Size)
		}
		return err
	}
	r, err := from.Get(c.ctx, src.key, nil)
	if err != nil {
		return err
	}
	defer r.Close()
	if b == nil {
		b = newBar(c.env.stderr, c.quiet, r.Length, dst.key)
		defer b.finish()
	}
	_, err = to.Put(c.ctx, dst.key, &countingReader{r: r, left: r.Length, bar: b}, &objstore.PutOptions{
		ContentType: r.Attrs.ContentType,
		Metadata:    r.Attrs.Metadata,
		PartSize:    c.partSize,
		Concurrency: c.concurrency,
	})
	return err
}

// item is one copy of a recursive cp.
type item struct {
	name string
	size int64
	run  func(b *bar) error
}

// tree copies every object under a prefix, or every file under a local
// directory.
func (c *copier) tree(src, dst target) error {
	if src.local == "-" || dst.local == "-" {
		return usageErrorf("cp -r cannot read stdin or write stdout")
	}
	c.left = "nothing was copied"
	// Open both stores first, so that a bad URL fails once, as a usage
	// error, rather than once per object.
	for _, t := range []target{src, dst} {
		if t.isURL() {
			if _, err := c.stores.get(t); err != nil {
				return err
			}
		}
	}
	var items []item
	var err error
	if src.isURL() {
		items, err = c.listItems(src, dst)
	} else {
		items, err = c.walkItems(src, dst)
	}
	if err != nil {
		return err
	}
	if len(items) == 0 {
		if src.isURL() {
			return &objstore.Error{Driver: "objstore", Op: "list", Key: dirKey(src.key), Kind: objstore.ErrNotFound,
				Err: errors.New("no object under this prefix")}
		}
		return nil // an empty local directory
	}
	return c.runItems(items)
}

// runItems runs the copies, -j at a time, under one progress bar, and
// returns every failure (a *failures) or nil.
func (c *copier) runItems(items []item) error {
	var total int64
	for _, it := range items {
		total += it.size
	}
	c.left = fmt.Sprintf("%d of %d objects were not copied; rerun to copy them (each is copied whole or not at all)", len(items), len(items))
	b := newBar(c.env.stderr, c.quiet, total, fmt.Sprintf("%d objects", len(items)))
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, c.jobs)
	)
	for _, it := range items {
		if c.ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := it.run(b); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", it.name, err))
				mu.Unlock()
				return
			}
			c.copied.Add(1)
		})
	}
	wg.Wait()
	b.finish()
	c.left = fmt.Sprintf("%d of %d objects were copied, the others not; rerun to copy the rest (each is copied whole or not at all)",
		c.copied.Load(), len(items))
	if err := c.ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return &failures{n: len(errs), of: len(items), err: errors.Join(errs...)}
	}
	return nil
}

// listItems lists the objects under src's prefix and plans their copies.
func (c *copier) listItems(src, dst target) ([]item, error) {
	st, err := c.stores.get(src)
	if err != nil {
		return nil, err
	}
	prefix, dstPrefix := dirKey(src.key), dirKey(dst.key)
	var items []item
	for e, err := range st.List(c.ctx, &objstore.ListOptions{Prefix: prefix}) {
		if err != nil {
			return nil, err
		}
		rel := strings.TrimPrefix(e.Key, prefix)
		from := target{store: src.store, key: e.Key}
		size := e.Size
		if dst.isURL() {
			to := target{store: dst.store, key: dstPrefix + rel}
			items = append(items, item{name: from.String(), size: size, run: func(b *bar) error {
				return c.transfer(from, to, size, b)
			}})
			continue
		}
		local := filepath.FromSlash(rel)
		path := filepath.Join(dst.local, local)
		items = append(items, item{name: from.String(), size: size, run: func(b *bar) error {
			if !filepath.IsLocal(local) {
				return fmt.Errorf("the key's path %q would leave %s; not copied", rel, dst.local)
			}
			if err := c.dirs.mkdirAll(filepath.Dir(path)); err != nil {
				return err
			}
			return c.download(from, path, size, b)
		}})
	}
	return items, nil
}

// walkItems finds the regular files under the local directory src and
// plans their uploads. Other files (symbolic links, devices) are skipped
// with a warning.
func (c *copier) walkItems(src, dst target) ([]item, error) {
	dstPrefix := dirKey(dst.key)
	var items []item
	err := filepath.WalkDir(src.local, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			fmt.Fprintf(c.env.stderr, "objstore cp: skipping %s: not a regular file\n", path)
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src.local, path)
		if err != nil {
			return err
		}
		to := target{store: dst.store, key: dstPrefix + filepath.ToSlash(rel)}
		items = append(items, item{name: path, size: fi.Size(), run: func(b *bar) error {
			return c.upload(path, to, fi.Size(), b)
		}})
		return nil
	})
	if err == nil && len(items) == 0 {
		if fi, serr := os.Stat(src.local); serr == nil && !fi.IsDir() {
			return nil, usageErrorf("%s is not a directory; drop -r to copy one file", src.local)
		}
	}
	return items, err
}

// dirMaker creates local directories and remembers those it created, so
// that a failed copy leaves no empty one behind. It is safe for concurrent
// use.
type dirMaker struct {
	mu      sync.Mutex
	created []string
}

// mkdirAll creates dir and its missing parents.
func (d *dirMaker) mkdirAll(dir string) error {
	var missing []string
	for p := dir; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			break
		}
		missing = append(missing, p)
		if filepath.Dir(p) == p {
			break
		}
	}
	err := os.MkdirAll(dir, 0o755)
	d.mu.Lock()
	d.created = append(d.created, missing...)
	d.mu.Unlock()
	return err
}

// undo removes the directories mkdirAll created that are empty, deepest
// first.
func (d *dirMaker) undo() {
	d.mu.Lock()
	defer d.mu.Unlock()
	slices.SortFunc(d.created, func(a, b string) int { return len(b) - len(a) })
	for _, dir := range d.created {
		os.Remove(dir) // fails, as it should, on a directory not empty
	}
	d.created = nil
}

// cancelable makes reads of r, such as stdin, return when ctx is done
// (Ctrl-C) rather than wait for input that may never come: a read of a
// pipe or terminal cannot be interrupted, so it runs in a goroutine that
// is abandoned on cancellation, as the process is about to exit.
func cancelable(ctx context.Context, r io.Reader) io.Reader {
	return &ctxReader{ctx: ctx, r: r, done: make(chan readResult, 1)}
}

type readResult struct {
	n   int
	err error
}

type ctxReader struct {
	ctx  context.Context
	r    io.Reader
	buf  []byte
	done chan readResult
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if len(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	buf := c.buf[:len(p)]
	go func() {
		n, err := c.r.Read(buf)
		c.done <- readResult{n, err}
	}()
	select {
	case res := <-c.done:
		return copy(p, buf[:res.n]), res.err
	case <-c.ctx.Done():
		c.buf = nil // the abandoned read may still write to it
		return 0, c.ctx.Err()
	}
}
