package file

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"time"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/internal/ctxio"
)

// Put writes body to key through a temporary file beside it, synced and
// then renamed (or linked) into place. A body that fails, or a context
// cancelled before the rename, leaves the previous object. Putting "a/b"
// while "a" is an object, or "a" while objects exist under "a/", fails
// with ErrInvalidArgument.
// Progress counts the bytes written to the temporary file.
func (s *Store) Put(ctx context.Context, key string, body io.Reader, opts *objstore.PutOptions) (objstore.Attrs, error) {
	if _, err := s.ns.Put(key, opts); err != nil {
		return objstore.Attrs{}, err
	}
	if err := s.begin(ctx, "put", key); err != nil {
		return objstore.Attrs{}, err
	}
	if opts == nil {
		opts = &objstore.PutOptions{}
	}
	if body == nil {
		body = bytes.NewReader(nil)
	}
	root, err := s.openRoot("put", key, true)
	if err != nil {
		return objstore.Attrs{}, err
	}
	defer root.Close()
	prog := objstore.NewProgress(opts.Progress)
	defer prog.Stop()
	prog.Start(bodySize(body))
	a, err := s.write(ctx, "put", key, root, &progressReader{r: &ctxio.Reader{Ctx: ctx, R: body}, prog: prog},
		objstore.ContentTypeOrDefault(opts.ContentType), objstore.NormalizeMetadata(opts.Metadata), opts.IfAbsent, opts.IfMatch)
	if err != nil {
		return objstore.Attrs{}, err
	}
	prog.Finish(a.Size)
	return a, nil
}

// bodySize returns the size of a Put body that tells it (Size for a body
// read with ReadAt, else Len), or -1.
func bodySize(body io.Reader) int64 {
	if _, n, ok := objstore.ReaderAtBody(body); ok {
		return n
	}
	if l, ok := body.(interface{ Len() int }); ok {
		return int64(l.Len())
	}
	return -1
}

// progressReader reports the bytes read from r, which the write puts in
// its temporary file, to prog.
type progressReader struct {
	r    io.Reader
	prog *objstore.Progress
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.prog.Add(int64(n))
	return n, err
}

// Copy copies the bytes, ContentType and Metadata of src to dst, as a Put
// of dst would. IfMatch is checked against the version of src that is
// read. Progress counts the bytes written to dst's temporary file.
func (s *Store) Copy(ctx context.Context, dst, src string, opts *objstore.CopyOptions) (objstore.Attrs, error) {
	if _, _, err := s.ns.Copy(dst, src, opts); err != nil {
		return objstore.Attrs{}, err
	}
	if err := s.begin(ctx, "copy", dst); err != nil {
		return objstore.Attrs{}, err
	}
	if opts == nil {
		opts = &objstore.CopyOptions{}
	}
	root, err := s.openRoot("copy", src, false)
	if err != nil {
		return objstore.Attrs{}, err
	}
	if root == nil {
		return objstore.Attrs{}, s.fail("copy", src, objstore.ErrNotFound, nil)
	}
	defer root.Close()
	srcDir, srcName := split(src)
	d, err := openDir(root, srcDir)
	if err != nil {
		return objstore.Attrs{}, s.readFail("copy", src, err)
	}
	f, a, err := s.openObject("copy", src, d, srcName)
	closeDir(root, d)
	if err != nil {
		return objstore.Attrs{}, err
	}
	defer f.Close()
	if opts.IfMatch != "" && !etagMatches(opts.IfMatch, a.ETag) {
		return objstore.Attrs{}, s.fail("copy", src, objstore.ErrPrecondition, errETagMismatch)
	}
	prog := objstore.NewProgress(opts.Progress)
	defer prog.Stop()
	prog.Start(a.Size)
	a, err = s.write(ctx, "copy", dst, root, &progressReader{r: &ctxio.Reader{Ctx: ctx, R: f}, prog: prog}, a.ContentType, a.Metadata, opts.IfAbsent, "")
	if err != nil {
		return objstore.Attrs{}, err
	}
	prog.Finish(a.Size)
	return a, nil
}

// write stores body at key: temporary file, sync, stamp, sidecar, then
// the commit under the conditions.
func (s *Store) write(ctx context.Context, op, key string, root *os.Root, body io.Reader,
	contentType string, metadata map[string]string, ifAbsent bool, ifMatch string) (objstore.Attrs, error) {
	dirName, name := split(key)
	d, tmp, f, err := s.createTemp(op, key, root, dirName)
	if err != nil {
		prune(root, dirName)
		return objstore.Attrs{}, err
	}
	defer closeDir(root, d)
	sc := ""
	abort := func(err error) (objstore.Attrs, error) {
		if f != nil {
			f.Close()
		}
		d.Remove(tmp)
		if sc != "" {
			d.Remove(sc)
		}
		prune(root, dirName)
		if cerr := ctx.Err(); cerr != nil {
			return objstore.Attrs{}, s.fail(op, key, nil, cerr)
		}
		return objstore.Attrs{}, err
	}
	if _, err := io.Copy(f, body); err != nil {
		return abort(s.ioFail(op, key, err))
	}
	stamp := nextStamp()
	if err := d.Chtimes(tmp, stamp, stamp); err != nil {
		return abort(s.ioFail(op, key, err))
	}
	fi, err := f.Stat()
	if err == nil {
		err = f.Sync()
	}
	cerr := f.Close()
	f = nil
	if err == nil {
		err = cerr
	}
	if err != nil {
		return abort(s.ioFail(op, key, err))
	}
	if needsSidecar(contentType, metadata) {
		if sc, err = writeSidecar(d, name, fi, contentType, metadata); err != nil {
			return abort(s.ioFail(op, key, err))
		}
	}
	// A cancel that arrived while the body was read wins over the commit.
	if err := ctx.Err(); err != nil {
		return abort(s.fail(op, key, nil, err))
	}
	old, err := s.commit(op, key, d, name, tmp, ifAbsent, ifMatch)
	if err != nil {
		return abort(err)
	}
	if old != nil && stampOf(old) != stampOf(fi) {
		d.Remove(sidecarName(name, stampOf(old)))
	}
	if err := syncDir(d, "."); err != nil {
		return objstore.Attrs{}, s.ioFail(op, key, fmt.Errorf("the object was written, but syncing its directory failed: %w", err))
	}
	return objstore.Attrs{
		Key:         key,
		Size:        fi.Size(),
		ETag:        etagOf(fi),
		ModTime:     fi.ModTime().UTC().Truncate(time.Second),
		ContentType: contentType,
		Metadata:    maps.Clone(metadata),
	}, nil
}

// createTemp creates a temporary file in dir's bookkeeping directory,
// creating the directories it needs. It returns dir, opened, and the
// file's path relative to it.
func (s *Store) createTemp(op, key string, root *os.Root, dir string) (*os.Root, string, *os.File, error) {
	var err error
	for range maxRetries {
		var d *os.Root
		d, err = s.prepareDir(op, key, root, dir)
		if err == nil {
			tmp := hidden + "/tmp-" + randomHex(8)
			var f *os.File
			f, err = d.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
			if err == nil {
				return d, tmp, f, nil
			}
			closeDir(root, d)
		}
		// A Delete may prune the directories between our steps: start
		// over when one vanished.
		if !errors.Is(err, fs.ErrNotExist) || escapes(err) {
			break
		}
	}
	return nil, "", nil, s.ioFail(op, key, err)
}

// prepareDir opens dir, creating it and its bookkeeping directory as
// needed, and syncing the parent of each directory it creates.
func (s *Store) prepareDir(op, key string, root *os.Root, dir string) (*os.Root, error) {
	d, err := openDir(root, dir)
	if errors.Is(err, fs.ErrNotExist) && !escapes(err) {
		if err := s.mkdirs(op, key, root, dir); err != nil {
			return nil, err
		}
		d, err = openDir(root, dir)
	}
	if notDir(err) {
		return nil, s.conflict(op, key, root, dir)
	}
	if err != nil {
		return nil, err
	}
	err = d.Mkdir(hidden, 0o777)
	switch {
	case err == nil:
		err = syncDir(d, ".")
	case errors.Is(err, fs.ErrExist):
		err = nil
	}
	if err != nil {
		closeDir(root, d)
		return nil, err
	}
	return d, nil
}

// mkdirs creates dir and its missing parents under root.
func (s *Store) mkdirs(op, key string, root *os.Root, dir string) error {
	for i := 0; i <= len(dir); i++ {
		if i < len(dir) && dir[i] != '/' {
			continue
		}
		p := dir[:i]
		err := root.Mkdir(p, 0o777)
		switch {
		case err == nil:
			if err := syncDir(root, path.Dir(p)); err != nil {
				return err
			}
		case errors.Is(err, fs.ErrExist):
			fi, err := root.Stat(p)
			if err != nil {
				return err
			}
			if !fi.IsDir() {
				return s.conflict(op, key, root, dir)
			}
		case notDir(err):
			return s.conflict(op, key, root, dir)
		default:
			return err
		}
	}
	return nil
}

// conflict is the error for a key whose directory dir cannot be made
// because one of its prefixes is an object.
func (s *Store) conflict(op, key string, root *os.Root, dir string) error {
	p := dir
	for i := 0; i <= len(dir); i++ {
		if i < len(dir) && dir[i] != '/' {
			continue
		}
		if fi, err := root.Lstat(dir[:i]); err == nil && !fi.IsDir() {
			p = dir[:i]
			break
		}
	}
	return &objstore.Error{Driver: Scheme, Op: op, Key: key, Kind: objstore.ErrInvalidArgument,
		Err:  fmt.Errorf("%q is an object, so it cannot also be a directory holding %q: the file driver stores keys as files and directories", p, key),
		Hint: fmt.Sprintf("delete %q first, or use keys of which none is a prefix of another followed by \"/\"", p)}
}

// conflictDir is the error for a key that is the directory of other keys.
func (s *Store) conflictDir(op, key string) error {
	return &objstore.Error{Driver: Scheme, Op: op, Key: key, Kind: objstore.ErrInvalidArgument,
		Err:  fmt.Errorf("objects exist under %q, so it is a directory and cannot also be an object: the file driver stores keys as files and directories", key+"/"),
		Hint: fmt.Sprintf("delete the objects under %q first, or use keys of which none is a prefix of another followed by \"/\"", key+"/")}
}

// commit moves the temporary file tmp in d to name if the conditions
// hold, and returns what it replaced (nil if nothing). IfAbsent links,
// which fails if name exists. Otherwise a replaced file is locked, and
// IfMatch checked, before the rename; a missing one is linked.
func (s *Store) commit(op, key string, d *os.Root, name, tmp string, ifAbsent bool, ifMatch string) (fs.FileInfo, error) {
	if ifAbsent {
		err := d.Link(tmp, name)
		switch {
		case err == nil:
			d.Remove(tmp)
			return nil, nil
		case errors.Is(err, fs.ErrExist):
			if fi, lerr := d.Lstat(name); lerr == nil && fi.IsDir() {
				return nil, s.conflictDir(op, key)
			}
			return nil, s.fail(op, key, objstore.ErrExists, errPutNotAbsent)
		}
		return nil, s.ioFail(op, key, err)
	}
	for range maxRetries {
		li, err := d.Lstat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if ifMatch != "" {
				return nil, s.fail(op, key, objstore.ErrPrecondition, errETagMismatch)
			}
			err := d.Link(tmp, name)
			if err == nil {
				d.Remove(tmp)
				return nil, nil
			}
			if errors.Is(err, fs.ErrExist) {
				continue // written meanwhile: replace it under its lock
			}
			return nil, s.ioFail(op, key, err)
		case err != nil:
			return nil, s.ioFail(op, key, err)
		case li.IsDir():
			return nil, s.conflictDir(op, key)
		case !li.Mode().IsRegular():
			return nil, s.fail(op, key, objstore.ErrPermission, errNotRegular)
		}
		f, err := d.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, s.ioFail(op, key, err)
		}
		fi, ok, err := lockCurrent(f, d, name)
		if err != nil || !ok {
			f.Close()
			if err != nil {
				return nil, s.ioFail(op, key, err)
			}
			continue
		}
		if ifMatch != "" && !etagMatches(ifMatch, etagOf(fi)) {
			f.Close()
			return nil, s.fail(op, key, objstore.ErrPrecondition, errETagMismatch)
		}
		err = d.Rename(tmp, name)
		f.Close()
		if err != nil {
			return nil, s.ioFail(op, key, err)
		}
		return fi, nil
	}
	return nil, s.fail(op, key, nil, errBusy)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
