package file

import (
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

	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/ctxio"
)

// Put writes body to key through a temporary file beside it, synced and
// then renamed (or linked) into place. A body that fails, or a context
// cancelled before the rename, leaves the previous object. Putting "a/b"
// while "a" is an object, or "a" while objects exist under "a/", fails
// with ErrInvalidArgument. Progress counts the bytes written to the
// temporary file.
func (b *bucket) Put(ctx context.Context, key string, body io.Reader, r driver.PutRequest) (driver.Attrs, error) {
	root, err := b.openRoot(true)
	if err != nil {
		return driver.Attrs{}, err
	}
	defer root.Close()
	return write(ctx, b.rel(key), root, driver.Counted(&ctxio.Reader{Ctx: ctx, R: body}, r.Progress),
		r.ContentType, r.Metadata, r.IfAbsent, r.IfMatch)
}

// Copy copies the bytes, ContentType and Metadata of src to dst, as a Put
// of dst would. IfMatch is checked against the version of src that is
// read. Progress counts the bytes written to dst's temporary file.
func (b *bucket) Copy(ctx context.Context, dst, src string, r driver.CopyRequest) (driver.Attrs, error) {
	root, err := b.openRoot(false)
	if err != nil {
		return driver.Attrs{}, err
	}
	if root == nil {
		return driver.Attrs{}, fail(driver.ErrNotFound, nil)
	}
	defer root.Close()
	srcDir, srcName := split(b.rel(src))
	d, err := openDir(root, srcDir)
	if err != nil {
		return driver.Attrs{}, readFail(err)
	}
	f, a, err := openObject(d, src, srcName)
	closeDir(root, d)
	if err != nil {
		return driver.Attrs{}, err
	}
	defer f.Close()
	if r.IfMatch != "" && !etagMatches(r.IfMatch, a.ETag) {
		return driver.Attrs{}, fail(driver.ErrPrecondition, errETagMismatch)
	}
	r.Progress.Start(a.Size)
	return write(ctx, b.rel(dst), root, driver.Counted(&ctxio.Reader{Ctx: ctx, R: f}, r.Progress), a.ContentType, a.Metadata, r.IfAbsent, "")
}

// write stores body at key, a path under root: temporary file, sync,
// stamp, sidecar, then the commit under the conditions.
func write(ctx context.Context, key string, root *os.Root, body io.Reader,
	contentType string, metadata map[string]string, ifAbsent bool, ifMatch string) (driver.Attrs, error) {
	dirName, name := split(key)
	d, tmp, f, err := createTemp(key, root, dirName)
	if err != nil {
		prune(root, dirName)
		return driver.Attrs{}, err
	}
	defer closeDir(root, d)
	sc := ""
	abort := func(err error) (driver.Attrs, error) {
		if f != nil {
			f.Close()
		}
		d.Remove(tmp)
		if sc != "" {
			d.Remove(sc)
		}
		prune(root, dirName)
		if cerr := ctx.Err(); cerr != nil {
			return driver.Attrs{}, cerr
		}
		return driver.Attrs{}, err
	}
	if _, err := io.Copy(f, body); err != nil {
		return abort(ioFail(err))
	}
	stamp := nextStamp()
	if err := d.Chtimes(tmp, stamp, stamp); err != nil {
		return abort(ioFail(err))
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
		return abort(ioFail(err))
	}
	if needsSidecar(contentType, metadata) {
		if sc, err = writeSidecar(d, name, fi, contentType, metadata); err != nil {
			return abort(ioFail(err))
		}
	}
	// A cancel that arrived while the body was read wins over the commit.
	if err := ctx.Err(); err != nil {
		return abort(err)
	}
	old, err := commit(key, d, name, tmp, ifAbsent, ifMatch)
	if err != nil {
		return abort(err)
	}
	if old != nil && stampOf(old) != stampOf(fi) {
		d.Remove(sidecarName(name, stampOf(old)))
	}
	if err := syncDir(d, "."); err != nil {
		return driver.Attrs{}, ioFail(fmt.Errorf("the object was written, but syncing its directory failed: %w", err))
	}
	return driver.Attrs{
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
func createTemp(key string, root *os.Root, dir string) (*os.Root, string, *os.File, error) {
	var err error
	for range maxRetries {
		var d *os.Root
		d, err = prepareDir(key, root, dir)
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
	return nil, "", nil, ioFail(err)
}

// prepareDir opens dir, creating it and its bookkeeping directory as
// needed, and syncing the parent of each directory it creates.
func prepareDir(key string, root *os.Root, dir string) (*os.Root, error) {
	d, err := openDir(root, dir)
	if errors.Is(err, fs.ErrNotExist) && !escapes(err) {
		if err := mkdirs(key, root, dir); err != nil {
			return nil, err
		}
		d, err = openDir(root, dir)
	}
	if notDir(err) {
		return nil, conflict(key, root, dir)
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
func mkdirs(key string, root *os.Root, dir string) error {
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
				return conflict(key, root, dir)
			}
		case notDir(err):
			return conflict(key, root, dir)
		default:
			return err
		}
	}
	return nil
}

// conflict is the error for a key whose directory dir cannot be made
// because one of its prefixes is an object.
func conflict(key string, root *os.Root, dir string) error {
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
	return &driver.Error{Kind: driver.ErrInvalidArgument,
		Err:  fmt.Errorf("%q is an object, so it cannot also be a directory holding %q: the file driver stores keys as files and directories", p, key),
		Hint: fmt.Sprintf("delete %q first, or use keys of which none is a prefix of another followed by \"/\"", p)}
}

// conflictDir is the error for a key that is the directory of other keys.
func conflictDir(key string) error {
	return &driver.Error{Kind: driver.ErrInvalidArgument,
		Err:  fmt.Errorf("objects exist under %q, so it is a directory and cannot also be an object: the file driver stores keys as files and directories", key+"/"),
		Hint: fmt.Sprintf("delete the objects under %q first, or use keys of which none is a prefix of another followed by \"/\"", key+"/")}
}

// commit moves the temporary file tmp in d to name if the conditions
// hold, and returns what it replaced (nil if nothing). IfAbsent links,
// which fails if name exists. Otherwise a replaced file is locked, and
// IfMatch checked, before the rename; a missing one is linked.
func commit(key string, d *os.Root, name, tmp string, ifAbsent bool, ifMatch string) (fs.FileInfo, error) {
	if ifAbsent {
		err := d.Link(tmp, name)
		switch {
		case err == nil:
			d.Remove(tmp)
			return nil, nil
		case errors.Is(err, fs.ErrExist):
			if fi, lerr := d.Lstat(name); lerr == nil && fi.IsDir() {
				return nil, conflictDir(key)
			}
			return nil, fail(driver.ErrExists, errPutNotAbsent)
		}
		return nil, ioFail(err)
	}
	for range maxRetries {
		li, err := d.Lstat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if ifMatch != "" {
				return nil, fail(driver.ErrPrecondition, errETagMismatch)
			}
			err := d.Link(tmp, name)
			if err == nil {
				d.Remove(tmp)
				return nil, nil
			}
			if errors.Is(err, fs.ErrExist) {
				continue // written meanwhile: replace it under its lock
			}
			return nil, ioFail(err)
		case err != nil:
			return nil, ioFail(err)
		case li.IsDir():
			return nil, conflictDir(key)
		case !li.Mode().IsRegular():
			return nil, fail(driver.ErrPermission, errNotRegular)
		}
		f, err := d.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, ioFail(err)
		}
		fi, ok, err := lockCurrent(f, d, name)
		if err != nil || !ok {
			f.Close()
			if err != nil {
				return nil, ioFail(err)
			}
			continue
		}
		if ifMatch != "" && !etagMatches(ifMatch, etagOf(fi)) {
			f.Close()
			return nil, fail(driver.ErrPrecondition, errETagMismatch)
		}
		err = d.Rename(tmp, name)
		f.Close()
		if err != nil {
			return nil, ioFail(err)
		}
		return fi, nil
	}
	return nil, errBusy
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
