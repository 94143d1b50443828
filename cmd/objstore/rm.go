package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/objstore-go/objstore"
)

const rmAbout = `Deletes the object at URL. Deleting a missing object succeeds, as the
store's Delete does (use stat to test that an object exists); but if URL
names no object and objects exist under URL + "/", rm deletes nothing and
exits 3 ("did you mean -r?").

With -r, URL's key is a prefix taken as a directory ("dir" means "dir/"; an
empty key means the whole store) and every object under it is deleted, -j
at a time. Every failure is reported at the end, and the status is then 1.
--dry-run lists what would be deleted and deletes nothing; -v lists each
object as it is deleted.`

func rm(ctx context.Context, args []string, e *env) int {
	fs := newFlags("rm", "[-r] [-j N] [--dry-run] [-v] URL", rmAbout, e)
	recursive := fs.Bool("r", false, "delete every object under the prefix")
	jobs := fs.Int("j", 8, "with -r, how many deletes run at once")
	dryRun := fs.Bool("dry-run", false, "print the URL of each object that would be deleted, and delete nothing")
	verbose := fs.Bool("v", false, "print the URL of each object deleted")
	fs.alias("r", "recursive")
	fs.alias("j", "jobs")
	fs.alias("v", "verbose")
	if code := parseFlags(fs, args, 1); code >= 0 {
		return code
	}
	if *jobs < 1 {
		return fail(e.stderr, "rm", usageErrorf("-j %d: want at least 1", *jobs))
	}
	st, t, done, err := openURL(ctx, fs.Arg(0))
	if err != nil {
		return fail(e.stderr, "rm", err)
	}
	defer done()
	var report func(key string)
	switch {
	case *dryRun:
		report = func(key string) { fmt.Fprintf(e.stdout, "would delete %s\n", objectURL(t.store, key)) }
	case *verbose:
		report = func(key string) { fmt.Fprintf(e.stdout, "deleted %s\n", objectURL(t.store, key)) }
	}
	if !*recursive {
		if t.key == "" || strings.HasSuffix(t.key, "/") {
			return fail(e.stderr, "rm", usageErrorf("%s names a prefix, not an object; use rm -r to delete what is under it", t))
		}
		if err := deleteOne(ctx, st, t.key, *dryRun, report); err != nil {
			return fail(e.stderr, "rm", err)
		}
		return exitOK
	}
	n, err := deleteUnder(ctx, st, dirKey(t.key), *jobs, *dryRun, report)
	if err != nil {
		if interrupted(ctx) {
			return failInterrupted(e.stderr, "rm", fmt.Sprintf("%d objects were deleted before it; the others under %s are still there", n, objectURL(t.store, dirKey(t.key))))
		}
		return fail(e.stderr, "rm", err)
	}
	return exitOK
}

// deleteOne deletes the object key, unless no object has that key and
// objects exist under key + "/": then it deletes nothing and returns an
// ErrNotFound error that suggests -r.
func deleteOne(ctx context.Context, st objstore.Store, key string, dryRun bool, report func(string)) error {
	_, err := st.Stat(ctx, key)
	switch {
	case errors.Is(err, objstore.ErrNotFound):
		for _, err := range st.List(ctx, &objstore.ListOptions{Prefix: key + "/", PageSize: 1}) {
			if err != nil {
				return err
			}
			return &objstore.Error{Driver: "objstore", Op: "delete", Key: key, Kind: objstore.ErrNotFound,
				Err:  fmt.Errorf("no object has this key, but objects exist under %q", key+"/"),
				Hint: "did you mean rm -r? it deletes every object under the prefix; add --dry-run to list them first"}
		}
		if dryRun {
			return nil
		}
	case err != nil:
		return err
	}
	if !dryRun {
		if err := st.Delete(ctx, key); err != nil {
			return err
		}
	}
	if report != nil && !errors.Is(err, objstore.ErrNotFound) {
		report(key)
	}
	return nil
}

// deletePrefix deletes every object under prefix, jobs at a time, and
// returns every failure (a *failures) or nil.
func deletePrefix(ctx context.Context, st objstore.Store, prefix string, jobs int) error {
	_, err := deleteUnder(ctx, st, prefix, jobs, false, nil)
	return err
}

// deleteUnder deletes every object under prefix, jobs at a time, calling
// report (if not nil) with the key of each one deleted, and returns how
// many were deleted and every failure (a *failures) or nil. With dryRun
// it only lists them, calling report for each.
func deleteUnder(ctx context.Context, st objstore.Store, prefix string, jobs int, dryRun bool, report func(string)) (int64, error) {
	var (
		mu      sync.Mutex
		errs    []error
		n       int
		deleted atomic.Int64
		wg      sync.WaitGroup
		keys    = make(chan string)
	)
	for range jobs {
		wg.Go(func() {
			for k := range keys {
				if !dryRun {
					if err := st.Delete(ctx, k); err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
						continue
					}
				}
				deleted.Add(1)
				if report != nil {
					mu.Lock()
					report(k)
					mu.Unlock()
				}
			}
		})
	}
	var listErr error
	for ent, err := range st.List(ctx, &objstore.ListOptions{Prefix: prefix}) {
		if err != nil {
			listErr = err
			break
		}
		n++
		keys <- ent.Key
	}
	close(keys)
	wg.Wait()
	if listErr != nil {
		if len(errs) == 0 {
			return deleted.Load(), listErr
		}
		errs = append(errs, fmt.Errorf("listing stopped: %w", listErr))
	}
	if len(errs) > 0 {
		return deleted.Load(), &failures{n: len(errs), of: n, err: errors.Join(errs...)}
	}
	return deleted.Load(), nil
}
