package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/objstore-go/objstore"
)

const rmAbout = `Deletes the object at URL. Deleting a missing object succeeds, as the
store's Delete does (use stat to test that an object exists).

With -r, URL's key is a prefix taken as a directory ("dir" means "dir/"; an
empty key means the whole store) and every object under it is deleted, -j
at a time. Every failure is reported at the end, and the status is then 1.`

func rm(ctx context.Context, args []string, e *env) int {
	fs := newFlags("rm", "[-r] [-j N] URL", rmAbout, e)
	recursive := fs.Bool("r", false, "delete every object under the prefix")
	jobs := fs.Int("j", 8, "with -r, how many deletes run at once")
	fs.alias("r", "recursive")
	fs.alias("j", "jobs")
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
	if !*recursive {
		if t.key == "" || strings.HasSuffix(t.key, "/") {
			return fail(e.stderr, "rm", usageErrorf("%s names a prefix, not an object; use rm -r to delete what is under it", t))
		}
		if err := st.Delete(ctx, t.key); err != nil {
			return fail(e.stderr, "rm", err)
		}
		return exitOK
	}
	if err := deletePrefix(ctx, st, dirKey(t.key), *jobs); err != nil {
		return fail(e.stderr, "rm", err)
	}
	return exitOK
}

// deletePrefix deletes every object under prefix, jobs at a time, and
// returns every failure (a *failures) or nil.
func deletePrefix(ctx context.Context, st objstore.Store, prefix string, jobs int) error {
	var (
		mu   sync.Mutex
		errs []error
		n    int
		wg   sync.WaitGroup
		keys = make(chan string)
	)
	for range jobs {
		wg.Go(func() {
			for k := range keys {
				if err := st.Delete(ctx, k); err != nil {
					mu.Lock()
					errs = append(errs, err)
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
			return listErr
		}
		errs = append(errs, fmt.Errorf("listing stopped: %w", listErr))
	}
	if len(errs) > 0 {
		return &failures{n: len(errs), of: n, err: errors.Join(errs...)}
	}
	return nil
}
