// Package file is the objstore driver for a directory on a local
// filesystem, registered as file://.
//
// # URL
//
// file:///abs/dir opens the store rooted at the directory /abs/dir. The
// host is empty or "localhost"; the path is absolute, with no empty, "."
// or ".." segments. The whole path names the directory: it is the store's
// bucket. A directory that does not exist is a missing bucket: every
// operation fails with ErrBucketNotFound, as on S3. With ?create=true a
// missing directory is instead an empty store, and the first write creates
// it with its parents. Since key "p/q/k" is the file p/q/k under the root,
// file:///abs/dir/p/q?create=true sees exactly the keys under "p/q/" of
// file:///abs/dir, relative to "p/q/": that is how rule U3 (the URL path
// is a key prefix) holds for this driver. [New] does the same from Go.
// For the same reason the root's path counts toward the 1024 bytes of a
// key, as every driver counts its URL prefix (rule K1): under
// file:///abs/dir a key has at most 1024-len("abs/dir/") bytes, so that
// it is a valid key of file:///abs too.
//
// # Layout
//
// Key "a/b/c" is the regular file a/b/c under the root, and nothing else:
// the tree can be browsed, backed up (keep modification times: cp -a,
// rsync -a) and served by other tools. Each directory may hold a hidden
// subdirectory ".objstore." with the driver's bookkeeping: a sidecar
// per object whose ContentType is not the default or that has Metadata,
// and files of writes in progress. No key can name it: the segment
// ".objstore." is reserved. List never shows it, nor anything that is not
// a regular file (symbolic links, devices), nor a file whose path is no
// key the driver addresses (a name that is not UTF-8).
//
// # Keys
//
// Put and Copy create portable keys (rule K1), or with keys=native
// (Options.Keys) any key the driver addresses. Reads address any such key,
// so files that other tools wrote under names K1 would not create
// ("dots./b.txt", "tail.", names with control characters) are objects
// (rule K3). The driver addresses relative paths of up to 4095 bytes with
// the root's path, with no leading or trailing "/", no empty, "." or ".."
// segment, no segment over 255 bytes, and never ".objstore."; on Windows
// also no backslash and no segment ending in ".".
//
// # Guarantees
//
// A write goes to a temporary file beside its target, which is synced and
// then renamed (or linked, when nothing is there yet) into place; the
// directory is synced after. The rename is the commit point: after a
// crash an object is whole, old or new, or absent. A body that fails or a
// context cancelled before the commit leaves the previous state and no
// visible trace. A crash may leave a temporary file or a stale sidecar
// under ".objstore."; they are never listed, and are safe to delete.
//
// The ETag is the file's modification time in nanoseconds and its size.
// The driver sets the time to a stamp unique within the process for each
// write, so an ETag changes on every write, even of the same bytes; a
// file changed by another program gets a new ETag too. The sidecar of an
// object is named after that stamp, so it can never describe other bytes:
// a file without its sidecar (written by another tool, or a crash between
// the sidecar and the data) reads as application/octet-stream with no
// Metadata. The filesystem must keep sub-second modification times (ext4,
// XFS, Btrfs, tmpfs, ZFS and APFS do); on one with whole seconds, two
// writes of the same size in the same second would share an ETag.
// ModTime is that time truncated to whole seconds, in Put's result, Stat,
// Get and List alike.
//
// IfAbsent is atomic: the temporary file is hard-linked to the key, which
// fails if anything is there. Every other commit, and every Delete, holds
// an exclusive flock(2) on the file it replaces or removes, and IfMatch is
// checked under it, so conditional writes are atomic across goroutines,
// Store handles and processes on the same machine (and on network
// filesystems whose flock is coherent; NFS emulates it with POSIX locks).
// The driver needs hard links and flock: it supports Linux, macOS and the
// BSDs; elsewhere writes fail with ErrUnsupported.
//
// # Edges
//
// Keys map to paths under the root through [os.Root]: no key, and no
// symbolic link inside the tree, can reach a file outside it. A symbolic
// link that points outside gets ErrPermission; a symbolic link at a key's
// own path is not an object (Stat and Get answer ErrNotFound, Put and
// Delete refuse it with ErrPermission rather than act through it). A
// link to a directory inside the tree is followed by Stat, Get, Put and
// Delete, but List does not descend into it.
//
// A filesystem cannot hold a file "a" and a directory "a", so objects
// "a" and "a/b" cannot both exist: putting "a/b" while "a" is an object,
// or "a" while objects exist under "a/", fails with ErrInvalidArgument and
// a message naming the clash. (MinIO, which also maps keys to files, hides
// the child instead; see docs/SEMANTICS.md.) Directories left empty by a
// Delete, or by a failed write, are removed, up to the root; the root
// itself stays.
//
// Keys are compared byte for byte, so the filesystem must be
// case-sensitive and must not normalise Unicode names: on macOS's default
// APFS, "A" and "a", or "é" and "e\u0301", are one file.
package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
)

// Options adjusts New. The zero value opens an existing directory.
type Options struct {
	// Create makes a missing root directory an empty store, created with
	// its parents by the first write, rather than a missing bucket.
	Create bool
	// Keys is the rule for the keys Put and Copy create, like the keys=
	// URL parameter: objstore.KeysPortable (the zero value, rule K1) or
	// objstore.KeysNative, any relative path the driver addresses (rule
	// K4; see the package documentation).
	Keys objstore.KeyMode
}

// bucket is the driver.Bucket over a local directory; the portable Store
// over it (objstore.NewStore) validates, wraps errors and guards
// listings. It is safe for concurrent use, and any number of buckets, in
// any number of processes, may share a directory.
//
// The keys it gets are backend keys: the root's path, without its
// leading "/", is their prefix, as a URL path is with every driver (rule
// U3), so that the root's path counts toward a key's length (rule K1): a
// key of file:///a/b/c is key "b/c/"+key of file:///a, and must be valid
// there too. rel strips it to the path under the root.
type bucket struct {
	dir    string // the root directory, absolute and clean
	prefix string // the backend keys' prefix: dir's path as a key prefix, "" for "/"
	create bool
	native bool
	pages  pageCache // the state of listings between pages
}

// New returns the store rooted at the directory root, like file://root. A
// relative root is made absolute now. The directory need not exist yet:
// operations fail with ErrBucketNotFound while it does not, unless
// opts.Create is set. A nil opts means the defaults.
func New(root string, opts *Options) (objstore.Store, error) {
	if root == "" {
		return nil, invalid("the root directory is empty; name a directory, like file:///var/lib/objects")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, &objstore.Error{Driver: Scheme, Op: "open", Kind: objstore.ErrInvalidArgument, Err: err}
	}
	b, err := newBucket(abs, opts)
	if err != nil {
		return nil, err
	}
	return objstore.NewStore(b, "")
}

// newBucket returns the bucket rooted at abs, an absolute clean path.
func newBucket(abs string, opts *Options) (*bucket, error) {
	b := &bucket{dir: abs}
	if p := strings.Trim(filepath.ToSlash(abs), "/"); p != "" {
		b.prefix = p + "/"
	}
	if opts != nil {
		if msg := driver.CheckKeyMode(opts.Keys); msg != "" {
			return nil, invalid(msg)
		}
		b.create, b.native = opts.Create, opts.Keys == objstore.KeysNative
	}
	return b, nil
}

func (b *bucket) Info() driver.Info {
	return driver.Info{Scheme: Scheme, Rules: keyRules, Native: b.native, Root: b.prefix}
}

// rel returns the path under the root of a backend key, which the
// portable store gives with the root's prefix.
func (b *bucket) rel(key string) string { return strings.TrimPrefix(key, b.prefix) }

// hidden is the name of the bookkeeping directory in each directory. It
// ends in a dot, so it is never a portable key's segment, and keyRules
// reserve it.
const hidden = ".objstore."

// keyRules are the keys the driver addresses: relative paths with no
// empty, "." or ".." segment (so that no key leaves the root, or names
// another key's file), segments of at most 255 bytes (NAME_MAX), never
// the bookkeeping directory, and up to 4095 bytes (PATH_MAX less its NUL)
// with the root's path. On Windows a backslash separates paths and a
// trailing dot is stripped, so both are refused there.
var keyRules = driver.KeyRules{Backend: "the file system", MaxLen: 4095, NoLeadingSlash: true, NoTrailingSlash: true, CleanSegments: true, MaxSegment: 255,
	NoBackslash: filepath.Separator == '\\', NoDotEnd: filepath.Separator == '\\', Reserved: []string{hidden}}

var (
	errPutNotAbsent = errors.New("the key exists and IfAbsent was set")
	errETagMismatch = errors.New("the ETag does not match")
	errNotModified  = errors.New("the ETag matches IfNoneMatch")
	errNotRegular   = errors.New("a symbolic link or special file is at the key's path; the file driver does not act through it")
)

// fail returns the error of class kind with cause (nil for none).
func fail(kind, cause error) error { return &driver.Error{Kind: kind, Err: cause} }

// ioFail classifies an error from the filesystem. Any other error, such
// as a context's, passes as it is.
func ioFail(err error) error {
	var de *driver.Error
	if errors.As(err, &de) {
		return err
	}
	switch {
	case escapes(err):
		return &driver.Error{Kind: driver.ErrPermission, Err: err,
			Hint: "a symbolic link inside the store's directory points outside it; the file driver never follows it"}
	case errors.Is(err, fs.ErrNotExist):
		return fail(driver.ErrNotFound, err)
	case errors.Is(err, fs.ErrPermission):
		return fail(driver.ErrPermission, err)
	case errors.Is(err, errors.ErrUnsupported):
		return fail(driver.ErrUnsupported, err)
	}
	return err
}

// escapes reports the error os.Root gives for a path leaving the root.
func escapes(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Err != nil && pe.Err.Error() == "path escapes from parent"
}

// notDir reports an error saying that a path component is a file. For a
// last component, os.Root.OpenRoot says so with an error of its own
// rather than ENOTDIR.
func notDir(err error) bool {
	if errors.Is(err, syscall.ENOTDIR) {
		return true
	}
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Err != nil && pe.Err.Error() == "not a directory"
}

// openRoot opens the root directory. For a missing root it returns
// ErrBucketNotFound, or, with Create, a nil Root for reads (an empty
// store) and a fresh directory for writes.
func (b *bucket) openRoot(write bool) (*os.Root, error) {
	r, err := os.OpenRoot(b.dir)
	if err == nil {
		return r, nil
	}
	if errors.Is(err, fs.ErrNotExist) && b.create {
		if !write {
			return nil, nil
		}
		if err := os.MkdirAll(b.dir, 0o777); err != nil {
			return nil, ioFail(err)
		}
		if r, err = os.OpenRoot(b.dir); err == nil {
			return r, nil
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &driver.Error{Kind: driver.ErrBucketNotFound, Err: err,
			Hint: fmt.Sprintf("the directory %s does not exist; create it, or open the URL with ?create=true", b.dir)}
	case notDir(err):
		return nil, &driver.Error{Kind: driver.ErrBucketNotFound, Err: err,
			Hint: fmt.Sprintf("%s is not a directory", b.dir)}
	}
	return nil, ioFail(err)
}

// split returns the directory of key ("" at the root) and its last
// segment.
func split(key string) (dir, name string) {
	i := strings.LastIndexByte(key, '/')
	if i < 0 {
		return "", key
	}
	return key[:i], key[i+1:]
}

// openDir opens the directory dir ("" is root itself) as a Root. The
// caller closes it unless it is root.
func openDir(root *os.Root, dir string) (*os.Root, error) {
	if dir == "" {
		return root, nil
	}
	return root.OpenRoot(dir)
}

func closeDir(root, d *os.Root) {
	if d != nil && d != root {
		d.Close()
	}
}

// readMissing reports the errors that mean a key's directory, and so the
// key, does not exist.
func readMissing(err error) bool { return errors.Is(err, fs.ErrNotExist) || notDir(err) }

// Stat returns the attributes of the object at key.
func (b *bucket) Stat(ctx context.Context, key string) (driver.Attrs, error) {
	root, err := b.openRoot(false)
	if err != nil {
		return driver.Attrs{}, err
	}
	if root == nil {
		return driver.Attrs{}, fail(driver.ErrNotFound, nil)
	}
	defer root.Close()
	dirName, name := split(b.rel(key))
	d, err := openDir(root, dirName)
	if err != nil {
		return driver.Attrs{}, readFail(err)
	}
	defer closeDir(root, d)
	for range maxRetries {
		fi, err := d.Lstat(name)
		if err != nil {
			return driver.Attrs{}, readFail(err)
		}
		if !fi.Mode().IsRegular() {
			return driver.Attrs{}, fail(driver.ErrNotFound, nil)
		}
		a, ok, err := readAttrs(d, key, name, fi)
		if err != nil {
			return driver.Attrs{}, ioFail(err)
		}
		if ok || unchanged(d, name, fi) {
			return a, nil
		}
		// Replaced while we looked, and its sidecar removed: look again.
	}
	return driver.Attrs{}, errBusy
}

// maxRetries bounds the loops that start over when a concurrent writer
// replaced a file between two steps.
const maxRetries = 100

var errBusy = errors.New("the object kept changing while it was read; try again")

// readFail classifies an error on the read path: a missing file or
// directory, or a file where a directory should be, is ErrNotFound.
func readFail(err error) error {
	if readMissing(err) && !escapes(err) {
		return fail(driver.ErrNotFound, err)
	}
	return ioFail(err)
}

// unchanged reports whether name still is the file fi describes.
func unchanged(d *os.Root, name string, fi fs.FileInfo) bool {
	now, err := d.Lstat(name)
	return err == nil && os.SameFile(now, fi) && now.ModTime().Equal(fi.ModTime()) && now.Size() == fi.Size()
}

// Get opens the object at key and serves the bytes r asks for. The body
// holds the file open: a concurrent overwrite or Delete does not disturb
// it.
func (b *bucket) Get(ctx context.Context, key string, r driver.GetRequest) (driver.Object, error) {
	root, err := b.openRoot(false)
	if err != nil {
		return driver.Object{}, err
	}
	if root == nil {
		return driver.Object{}, fail(driver.ErrNotFound, nil)
	}
	defer root.Close()
	dirName, name := split(b.rel(key))
	d, err := openDir(root, dirName)
	if err != nil {
		return driver.Object{}, readFail(err)
	}
	defer closeDir(root, d)
	f, a, err := openObject(d, key, name)
	if err != nil {
		return driver.Object{}, err
	}
	var ferr error
	switch {
	case r.IfMatch != "" && !etagMatches(r.IfMatch, a.ETag):
		ferr = fail(driver.ErrPrecondition, errETagMismatch)
	case r.IfNoneMatch != "" && etagMatches(r.IfNoneMatch, a.ETag):
		ferr = fail(driver.ErrNotModified, errNotModified)
	case r.Offset > a.Size:
		ferr = fail(driver.ErrInvalidRange, fmt.Errorf("Range.Offset %d is past the end of the %d-byte object", r.Offset, a.Size))
	}
	if ferr != nil {
		f.Close()
		return driver.Object{}, ferr
	}
	n := a.Size - r.Offset
	if r.Length >= 0 && r.Length < n {
		n = r.Length
	}
	body := &fileBody{ctx: ctx, f: f, r: io.NewSectionReader(f, r.Offset, n)}
	return driver.Object{Attrs: a, Offset: r.Offset, Length: n, Body: body}, nil
}

// openObject opens the regular file name in d and returns it with the
// attributes of key, read from the same version of the file.
func openObject(d *os.Root, key, name string) (*os.File, driver.Attrs, error) {
	for range maxRetries {
		li, err := d.Lstat(name)
		if err != nil {
			return nil, driver.Attrs{}, readFail(err)
		}
		if !li.Mode().IsRegular() {
			return nil, driver.Attrs{}, fail(driver.ErrNotFound, nil)
		}
		f, err := d.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, driver.Attrs{}, readFail(err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, driver.Attrs{}, ioFail(err)
		}
		if !os.SameFile(fi, li) {
			f.Close()
			continue
		}
		a, ok, err := readAttrs(d, key, name, fi)
		if err != nil {
			f.Close()
			return nil, driver.Attrs{}, ioFail(err)
		}
		if ok || unchanged(d, name, fi) {
			return f, a, nil
		}
		f.Close()
	}
	return nil, driver.Attrs{}, errBusy
}

func etagMatches(cond, etag string) bool { return cond == "*" || cond == etag }

// fileBody serves a range of an open file, failing once ctx is done.
type fileBody struct {
	ctx context.Context
	f   *os.File
	r   *io.SectionReader
}

func (b *fileBody) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	return b.r.Read(p)
}

func (b *fileBody) Close() error { return b.f.Close() }

// Delete removes the object at key; a missing key is not an error.
// Directories the removal leaves empty are removed too, up to the root.
func (b *bucket) Delete(ctx context.Context, key string) error {
	root, err := b.openRoot(false)
	if err != nil || root == nil {
		return err
	}
	defer root.Close()
	dirName, name := split(b.rel(key))
	d, err := openDir(root, dirName)
	if readMissing(err) && !escapes(err) {
		return nil
	}
	if err != nil {
		return ioFail(err)
	}
	defer closeDir(root, d)
	for range maxRetries {
		li, err := d.Lstat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil:
			return ioFail(err)
		case li.IsDir():
			return nil // a directory of other keys, not an object
		case !li.Mode().IsRegular():
			return fail(driver.ErrPermission, errNotRegular)
		}
		f, err := d.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return ioFail(err)
		}
		fi, ok, err := lockCurrent(f, d, name)
		if err != nil {
			f.Close()
			return ioFail(err)
		}
		if !ok {
			f.Close()
			continue
		}
		err = d.Remove(name)
		if err == nil {
			d.Remove(sidecarName(name, stampOf(fi)))
		}
		f.Close()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return ioFail(err)
		}
		if err := syncDir(d, "."); err != nil {
			return ioFail(err)
		}
		prune(root, dirName)
		return nil
	}
	return errBusy
}

// prune removes dir's bookkeeping directory and dir itself while they are
// empty, then its parents, up to (not including) the root. It removes
// directories only.
func prune(root *os.Root, dir string) {
	for {
		d, err := openDir(root, dir)
		if err != nil {
			return
		}
		rmdir(d, hidden)
		closeDir(root, d)
		if dir == "" {
			return
		}
		parent, name := split(dir)
		p, err := openDir(root, parent)
		if err != nil {
			return
		}
		err = rmdir(p, name)
		closeDir(root, p)
		if err != nil {
			return
		}
		dir = parent
	}
}

// syncDir fsyncs the directory name in d.
func syncDir(d *os.Root, name string) error {
	f, err := d.Open(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		return nil // a filesystem that cannot sync directories
	}
	return err
}

// Close forgets the state of listings between pages. Readers already
// open stay usable.
func (b *bucket) Close() error {
	b.pages.clear()
	return nil
}
