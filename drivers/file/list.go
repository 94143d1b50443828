package file

import (
	"context"
	"errors"
	"io/fs"
	"iter"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/objstore-go/objstore"
)

// List yields the objects under opts.Prefix in byte order of key, walking
// the directory tree depth first: each directory is read whole and its
// entries sorted with a directory "d" placed as "d/", which puts every
// key in byte order without holding more than one directory per level.
// The listing is not a snapshot: an object written or deleted during it
// may or may not appear. Breaking out of the loop stops the walk. The
// context is checked before each directory and every PageSize entries.
func (s *Store) List(ctx context.Context, opts *objstore.ListOptions) iter.Seq2[objstore.Entry, error] {
	return func(yield func(objstore.Entry, error) bool) {
		o, err := s.ns.List(opts)
		if err == nil {
			err = s.begin(ctx, "list", "")
		}
		var root *os.Root
		if err == nil {
			root, err = s.openRoot("list", "", false)
		}
		if err != nil {
			yield(objstore.Entry{}, err)
			return
		}
		if root == nil {
			return // Create, and no directory yet: an empty store
		}
		defer root.Close()
		// The walk works in keys relative to the root.
		prefix := strings.TrimPrefix(o.Prefix, s.ns.Prefix)
		after := strings.TrimPrefix(o.StartAfter, s.ns.Prefix)
		dir, namePrefix := split(prefix)
		w := &walker{s: s, ctx: ctx, after: after, pageSize: o.PageSize}
		d, err := openDir(root, dir)
		if err != nil {
			if readMissing(err) && !escapes(err) {
				return
			}
			yield(objstore.Entry{}, s.ioFail("list", "", err))
			return
		}
		defer closeDir(root, d)
		w.yield = func(e objstore.Entry) bool { return yield(e, nil) }
		if err := w.walk(d, dirPrefix(dir), namePrefix, o.Delimiter != ""); err != nil && !errors.Is(err, errStop) {
			yield(objstore.Entry{}, err)
		}
	}
}

func dirPrefix(dir string) string {
	if dir == "" {
		return ""
	}
	return dir + "/"
}

// errStop ends a walk early without error.
var errStop = errors.New("stop")

type walker struct {
	s        *Store
	ctx      context.Context
	after    string // yield only keys greater than this
	pageSize int
	n        int // entries since the last context check
	yield    func(objstore.Entry) bool
}

type dirEntry struct {
	sortName string // the name, with "/" appended for a directory
	name     string
	isDir    bool
}

// walk yields, in byte order, the keys in directory d (whose keys start
// with prefix) whose names start with namePrefix. With group set, a
// subdirectory holding a key yields one common prefix instead.
func (w *walker) walk(d *os.Root, prefix, namePrefix string, group bool) error {
	if err := w.ctx.Err(); err != nil {
		return w.s.fail("list", "", nil, err)
	}
	entries, err := readDir(d)
	if err != nil {
		return w.s.ioFail("list", "", err)
	}
	var es []dirEntry
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, namePrefix) || !w.s.ns.Addressable(name) {
			continue // the bookkeeping directory, or no key's segment
		}
		switch {
		case e.IsDir():
			es = append(es, dirEntry{sortName: name + "/", name: name, isDir: true})
		case e.Type().IsRegular():
			es = append(es, dirEntry{sortName: name, name: name})
		}
	}
	slices.SortFunc(es, func(a, b dirEntry) int { return strings.Compare(a.sortName, b.sortName) })
	for _, e := range es {
		full := prefix + e.sortName
		if !e.isDir {
			if full <= w.after || !w.s.ns.Addressable(full) {
				continue // before after, or a name no key can have
			}
			fi, err := d.Lstat(e.name)
			if err != nil || !fi.Mode().IsRegular() {
				continue // gone since the directory was read
			}
			if err := w.emit(objstore.Entry{Attrs: objstore.Attrs{
				Key: full, Size: fi.Size(), ETag: etagOf(fi), ModTime: fi.ModTime().UTC().Truncate(time.Second),
			}}); err != nil {
				return err
			}
			continue
		}
		if full <= w.after && !strings.HasPrefix(w.after, full) {
			continue // every key below sorts before after
		}
		sub, err := d.OpenRoot(e.name)
		if err != nil {
			if readMissing(err) && !escapes(err) {
				continue
			}
			return w.s.ioFail("list", "", err)
		}
		if group {
			found, err := w.hasKey(sub, full)
			if err == nil && found {
				err = w.emit(objstore.Entry{Attrs: objstore.Attrs{Key: full}, IsPrefix: true})
			}
			sub.Close()
			if err != nil {
				return err
			}
			continue
		}
		err = w.walk(sub, full, "", false)
		sub.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// hasKey reports whether directory d, whose keys start with prefix, holds
// a key greater than w.after.
func (w *walker) hasKey(d *os.Root, prefix string) (bool, error) {
	probe := &walker{s: w.s, ctx: w.ctx, after: w.after, pageSize: w.pageSize}
	found := false
	probe.yield = func(objstore.Entry) bool { found = true; return false }
	err := probe.walk(d, prefix, "", false)
	if errors.Is(err, errStop) {
		err = nil
	}
	return found, err
}

// emit yields e, checking the context every pageSize entries.
func (w *walker) emit(e objstore.Entry) error {
	if w.n++; w.n >= w.pageSize {
		w.n = 0
		if err := w.ctx.Err(); err != nil {
			return w.s.fail("list", "", nil, err)
		}
	}
	if !w.yield(e) {
		return errStop
	}
	return nil
}

// readDir reads all of directory d. A directory removed meanwhile is
// empty.
func readDir(d *os.Root) ([]fs.DirEntry, error) {
	f, err := d.Open(".")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return entries, err
}
