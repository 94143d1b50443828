package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/objstore-go/objstore"
)

const syncAbout = `Makes DST hold what SRC holds. Each is a local directory or a prefix
taken as a directory ("dir" means "dir/"), in any store; at least one is a
URL. An object (or file) of SRC is copied when DST lacks it, or has it
with another size, or with other content: when both sides have an MD5
(an S3 ETag of a single-part upload, or a local file, whose MD5 is
computed), the MD5s decide; otherwise SRC is copied when it was modified
after DST's copy, to the second (so a change in the same second as the
copy it replaces goes unseen, as with aws s3 sync). A file that sync
downloads gets its object's modification time, and is copied again when
the times differ.
Up to -j copies run at once.

--delete also deletes what DST holds and SRC does not, after the copies.
--dry-run prints what would be copied and deleted, and changes nothing.
-v prints each copy and delete as it is done. A summary goes to stderr.

Each object is copied whole or not at all, so an interrupted sync (status
130) is finished by running it again: it copies only what is still
missing or different.`

// side is one end of a sync: what is under a local directory or a prefix,
// by relative path.
type side map[string]syncEntry

type syncEntry struct {
	size    int64
	modTime time.Time
	etag    string // quoted; empty for a local file
	path    string // the local file; empty for an object
}

var md5ETag = regexp.MustCompile(`^"[0-9a-f]{32}"$`)

// md5Of returns the hex MD5 of e's content, if known without reading an
// object: an S3-style single-part ETag, or a local file's, computed.
func md5Of(e syncEntry) (string, bool) {
	if e.path != "" {
		f, err := os.Open(e.path)
		if err != nil {
			return "", false
		}
		defer f.Close()
		h := md5.New()
		if _, err := io.Copy(h, f); err != nil {
			return "", false
		}
		return hex.EncodeToString(h.Sum(nil)), true
	}
	if md5ETag.MatchString(e.etag) {
		return strings.Trim(e.etag, `"`), true
	}
	return "", false
}

// differs reports why src must be copied over dst, or "".
func differs(src, dst syncEntry) string {
	if src.size != dst.size {
		return "size differs"
	}
	canMD5 := func(e syncEntry) bool { return e.path != "" || md5ETag.MatchString(e.etag) }
	if canMD5(src) && canMD5(dst) {
		a, okA := md5Of(src)
		b, okB := md5Of(dst)
		if okA && okB {
			if a != b {
				return "content differs"
			}
			return ""
		}
	}
	a, b := src.modTime.Truncate(time.Second), dst.modTime.Truncate(time.Second)
	switch {
	case dst.path != "" && !a.Equal(b):
		// A downloaded file gets its object's time: any other time
		// means either side changed.
		return "modified"
	case a.After(b):
		return "newer"
	}
	return ""
}

func syncCmd(ctx context.Context, args []string, e *env) int {
	fs := newFlags("sync", "[--delete] [--dry-run] [-j N] [-v] [-q] SRC DST", syncAbout, e)
	del := fs.Bool("delete", false, "delete what DST holds and SRC does not")
	dryRun := fs.Bool("dry-run", false, "print what would be copied and deleted, and change nothing")
	jobs := fs.Int("j", 16, "how many copies run at once")
	verbose := fs.Bool("v", false, "print each copy and delete")
	quiet := fs.Bool("q", false, "draw no progress bar, even on a terminal")
	fs.alias("j", "jobs")
	fs.alias("v", "verbose")
	fs.alias("q", "quiet")
	if code := parseFlags(fs, args, 2); code >= 0 {
		return code
	}
	src, err := parseTarget(fs.Arg(0))
	if err != nil {
		return fail(e.stderr, "sync", err)
	}
	dst, err := parseTarget(fs.Arg(1))
	if err != nil {
		return fail(e.stderr, "sync", err)
	}
	switch {
	case !src.isURL() && !dst.isURL():
		return fail(e.stderr, "sync", usageErrorf("neither %q nor %q is a URL; use rsync between local directories", src, dst))
	case src.local == "-" || dst.local == "-":
		return fail(e.stderr, "sync", usageErrorf("sync cannot read stdin or write stdout"))
	case *jobs < 1:
		return fail(e.stderr, "sync", usageErrorf("-j %d: want at least 1", *jobs))
	}
	c := &copier{ctx: ctx, env: e, stores: newStores(ctx), quiet: *quiet || *dryRun, jobs: *jobs}
	defer c.stores.close()
	s := &syncer{copier: c, src: src, dst: dst, del: *del, dryRun: *dryRun, verbose: *verbose || *dryRun}
	if err := s.run(); err != nil {
		c.dirs.undo()
		if interrupted(ctx) {
			return failInterrupted(e.stderr, "sync", s.left())
		}
		return fail(e.stderr, "sync", err)
	}
	return exitOK
}

type syncer struct {
	*copier
	src, dst        target
	del, dryRun     bool
	verbose         bool
	copies, deletes int
	mu              sync.Mutex // serializes say
}

func (s *syncer) left() string {
	return fmt.Sprintf("%d of %d copies were done, the others not; run the sync again to finish", s.copied.Load(), s.copies)
}

// say prints one action, with -v or --dry-run.
func (s *syncer) say(format string, args ...any) {
	if s.verbose {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.dryRun {
			format = "would " + format
		}
		fmt.Fprintf(s.env.stdout, format+"\n", args...)
	}
}

func (s *syncer) run() error {
	for _, t := range []target{s.src, s.dst} {
		if t.isURL() {
			if _, err := s.stores.get(t); err != nil {
				return err
			}
		}
	}
	from, err := s.list(s.src)
	if err != nil {
		return err
	}
	if s.src.isURL() && len(from) == 0 {
		return &objstore.Error{Driver: "objstore", Op: "list", Key: dirKey(s.src.key), Kind: objstore.ErrNotFound,
			Err: errors.New("no object under this prefix; nothing to sync from")}
	}
	to, err := s.list(s.dst)
	if err != nil {
		return err
	}
	var items []item
	same := 0
	for _, rel := range slices.Sorted(func(yield func(string) bool) {
		for k := range from {
			if !yield(k) {
				return
			}
		}
	}) {
		se := from[rel]
		why := "missing"
		if de, ok := to[rel]; ok {
			if why = differs(se, de); why == "" {
				same++
				continue
			}
		}
		it, err := s.plan(rel, se)
		if err != nil {
			return err
		}
		run := it.run
		srcName, dstName := s.name(s.src, rel), s.name(s.dst, rel)
		it.run = func(b *bar) error {
			if err := run(b); err != nil {
				return err
			}
			s.say("copy %s -> %s (%s)", srcName, dstName, why)
			return nil
		}
		if s.dryRun {
			s.say("copy %s -> %s (%s)", srcName, dstName, why)
			continue
		}
		items = append(items, it)
	}
	s.copies = len(items)
	if len(items) > 0 {
		if err := s.runItems(items); err != nil {
			return err
		}
	}
	if s.del {
		var gone []string
		for rel := range to {
			if _, ok := from[rel]; !ok {
				gone = append(gone, rel)
			}
		}
		slices.Sort(gone)
		for _, rel := range gone {
			if err := s.remove(rel); err != nil {
				return err
			}
			s.deletes++
		}
	}
	verb := ""
	if s.dryRun {
		verb = " (dry run: nothing changed)"
	}
	fmt.Fprintf(s.env.stderr, "objstore sync: %d copied, %d deleted, %d up to date%s\n", s.copies, s.deletes, same, verb)
	return nil
}

// name is what the user would write for rel under t.
func (s *syncer) name(t target, rel string) string {
	if t.isURL() {
		return objectURL(t.store, dirKey(t.key)+rel)
	}
	return filepath.Join(t.local, filepath.FromSlash(rel))
}

// plan makes the copy of rel from src to dst.
func (s *syncer) plan(rel string, se syncEntry) (item, error) {
	src, dst := s.src, s.dst
	size := se.size
	switch {
	case !src.isURL():
		to := target{store: dst.store, key: dirKey(dst.key) + rel}
		return item{name: se.path, size: size, run: func(b *bar) error { return s.upload(se.path, to, size, b) }}, nil
	case !dst.isURL():
		from := target{store: src.store, key: dirKey(src.key) + rel}
		local := filepath.FromSlash(rel)
		if !filepath.IsLocal(local) {
			return item{}, fmt.Errorf("%s: the key's path %q would leave %s", from, rel, dst.local)
		}
		path := filepath.Join(dst.local, local)
		return item{name: from.String(), size: size, run: func(b *bar) error {
			if err := s.dirs.mkdirAll(filepath.Dir(path)); err != nil {
				return err
			}
			if err := s.download(from, path, size, b); err != nil {
				return err
			}
			// The object's time, for the next sync to compare with.
			return os.Chtimes(path, time.Time{}, se.modTime)
		}}, nil
	}
	from := target{store: src.store, key: dirKey(src.key) + rel}
	to := target{store: dst.store, key: dirKey(dst.key) + rel}
	return item{name: from.String(), size: size, run: func(b *bar) error { return s.transfer(from, to, size, b) }}, nil
}

// remove deletes rel from the destination (--delete).
func (s *syncer) remove(rel string) error {
	name := s.name(s.dst, rel)
	if s.dryRun {
		s.say("delete %s", name)
		return nil
	}
	if s.dst.isURL() {
		st, err := s.stores.get(s.dst)
		if err != nil {
			return err
		}
		if err := st.Delete(s.ctx, dirKey(s.dst.key)+rel); err != nil {
			return err
		}
	} else if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	s.say("delete %s", name)
	return nil
}

// list reads what is under t: the regular files under a local directory
// (none if it does not exist), or the objects under a prefix.
func (s *syncer) list(t target) (side, error) {
	out := side{}
	if !t.isURL() {
		err := filepath.WalkDir(t.local, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if path == t.local && errors.Is(err, fs.ErrNotExist) {
					return filepath.SkipAll
				}
				return err
			}
			if d.IsDir() && d.Name() == ".objstore." {
				return filepath.SkipDir // the file driver's bookkeeping
			}
			if !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(t.local, path)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = syncEntry{size: fi.Size(), modTime: fi.ModTime(), path: path}
			return nil
		})
		if err == nil && len(out) == 0 {
			if fi, serr := os.Stat(t.local); serr == nil && !fi.IsDir() {
				return nil, usageErrorf("%s is not a directory; sync works on directories and prefixes", t.local)
			}
		}
		return out, err
	}
	st, err := s.stores.get(t)
	if err != nil {
		return nil, err
	}
	prefix := dirKey(t.key)
	for e, err := range st.List(s.ctx, &objstore.ListOptions{Prefix: prefix}) {
		if err != nil {
			return nil, err
		}
		out[strings.TrimPrefix(e.Key, prefix)] = syncEntry{size: e.Size, modTime: e.ModTime, etag: e.ETag}
	}
	return out, nil
}
