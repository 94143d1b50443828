package file

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/objstore-go/objstore/driver"
)

// List returns one page of the objects under r.Prefix, in byte order of
// key, walking the directory tree depth first: each directory is read
// whole and its entries sorted with a directory "d" placed as "d/", which
// puts every key in byte order.
//
// A page is up to r.PageSize entries, and its Next token is the
// listing's ID followed by the key of the page's last entry, object or
// common prefix. The next page walks the tree again from the root and
// lists only what sorts after that key, the way StartAfter does: it skips
// every directory whose keys all sort before it, and takes the sorted
// entries of the directories on its path from the listing's pageCache
// rather than reading them again (when the cache has dropped them, it
// reads them: slower, never wrong). With a delimiter a common prefix is
// listed only when it sorts after the token or StartAfter, which the
// portable store requires of every driver; so a token that is a common
// prefix skips everything under it. The listing is not a snapshot: an
// object written or deleted during it may or may not appear.
//
// The portable store drops entries whose key the driver does not address;
// the walk itself skips the bookkeeping directories, whose files are not
// objects, and names that are not UTF-8, which no key has, so that no
// common prefix is made of them.
func (b *bucket) List(ctx context.Context, r driver.ListRequest) (driver.Page, error) {
	root, err := b.openRoot(false)
	if err != nil {
		return driver.Page{}, err
	}
	if root == nil {
		return driver.Page{}, nil // Create, and no directory yet: an empty store
	}
	defer root.Close()
	id, after := randomHex(idLen/2), r.StartAfter
	var dirs map[string][]dirEntry
	if r.Token != "" {
		if len(r.Token) <= idLen {
			return driver.Page{}, fail(driver.ErrInvalidArgument, errors.New("the list token is not one the file driver made"))
		}
		id, after = r.Token[:idLen], r.Token[idLen:]
		dirs = b.pages.take(id)
	}
	if dirs == nil {
		dirs = map[string][]dirEntry{}
	}
	dir, namePrefix := split(b.rel(r.Prefix))
	d, err := openDir(root, dir)
	if err != nil {
		if readMissing(err) && !escapes(err) {
			return driver.Page{}, nil
		}
		return driver.Page{}, ioFail(err)
	}
	defer closeDir(root, d)
	w := &walker{ctx: ctx, after: after, max: r.PageSize, dirs: dirs}
	err = w.walk(d, b.prefix+dirPrefix(dir), namePrefix, r.Delimiter != "")
	switch {
	case errors.Is(err, errStop):
		last := w.page[len(w.page)-1].Key
		b.pages.keep(id, last, dirs)
		return driver.Page{Entries: w.page, Next: id + last}, nil
	case err != nil:
		return driver.Page{}, err
	}
	return driver.Page{Entries: w.page}, nil
}

func dirPrefix(dir string) string {
	if dir == "" {
		return ""
	}
	return dir + "/"
}

// errStop ends a walk early without error.
var errStop = errors.New("stop")

// walker collects a page: up to max entries whose keys sort after after.
type walker struct {
	ctx   context.Context
	after string
	max   int
	page  []driver.Entry
	// dirs are the sorted entries of the directories read, by key
	// prefix; nil to read every directory afresh.
	dirs map[string][]dirEntry
}

type dirEntry struct {
	sortName string // the name, with "/" appended for a directory
	name     string
	isDir    bool
}

// walk adds to the page, in byte order, the keys in directory d (whose
// keys start with prefix) whose names start with namePrefix. With group
// set, a subdirectory holding a key adds one common prefix instead. It
// returns errStop once the page is full.
func (w *walker) walk(d *os.Root, prefix, namePrefix string, group bool) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	es, err := w.entries(d, prefix, namePrefix)
	if err != nil {
		return err
	}
	for _, e := range es[start(es, prefix, w.after, group):] {
		full := prefix + e.sortName
		if !e.isDir {
			fi, err := d.Lstat(e.name)
			if err != nil || !fi.Mode().IsRegular() {
				continue // gone since the directory was read
			}
			if err := w.add(driver.Entry{Attrs: driver.Attrs{
				Key: full, Size: fi.Size(), ETag: etagOf(fi), ModTime: fi.ModTime().UTC().Truncate(time.Second),
			}}); err != nil {
				return err
			}
			continue
		}
		sub, err := d.OpenRoot(e.name)
		if err != nil {
			if readMissing(err) && !escapes(err) {
				continue
			}
			return ioFail(err)
		}
		if group {
			found, err := hasKey(w.ctx, sub, full)
			if err == nil && found {
				err = w.add(driver.Entry{Attrs: driver.Attrs{Key: full}, IsPrefix: true})
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

// entries returns the entries of directory d, whose keys start with
// prefix, whose names start with namePrefix, sorted by key: from w.dirs
// when it has them.
func (w *walker) entries(d *os.Root, prefix, namePrefix string) ([]dirEntry, error) {
	if es, ok := w.dirs[prefix]; ok {
		return es, nil
	}
	entries, err := readDir(d)
	if err != nil {
		return nil, ioFail(err)
	}
	var es []dirEntry
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, namePrefix) || name == hidden || !utf8.ValidString(name) {
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
	if w.dirs != nil {
		w.dirs[prefix] = es
	}
	return es, nil
}

// start returns the index of the first of es, the sorted entries of the
// directory whose keys start with prefix, that may hold a key after
// after: the first that sorts after it, or without group the directory
// that after is in.
func start(es []dirEntry, prefix, after string, group bool) int {
	rest, ok := strings.CutPrefix(after, prefix)
	switch {
	case !ok && after < prefix:
		return 0
	case !ok:
		return len(es) // after sorts after every key with this prefix
	}
	i := sort.Search(len(es), func(i int) bool { return es[i].sortName > rest })
	if !group && i > 0 && es[i-1].isDir && strings.HasPrefix(rest, es[i-1].sortName) {
		i--
	}
	return i
}

// hasKey reports whether directory d, whose keys start with prefix, holds
// a key.
func hasKey(ctx context.Context, d *os.Root, prefix string) (bool, error) {
	probe := &walker{ctx: ctx, max: 1}
	err := probe.walk(d, prefix, "", false)
	if errors.Is(err, errStop) {
		err = nil
	}
	return len(probe.page) > 0, err
}

// add adds e to the page, and returns errStop once the page is full.
func (w *walker) add(e driver.Entry) error {
	w.page = append(w.page, e)
	if len(w.page) >= w.max {
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
