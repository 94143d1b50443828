package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/objstore-go/objstore"
)

const lsAbout = `Lists what is under URL's key, which is a raw prefix, as in S3: "dir/"
lists the directory dir, "dir" also matches "dir2/". By default the listing
is "/"-delimited: objects directly under the prefix, and common prefixes
(ending in "/"); -r lists every object under it, flat. Keys are printed
whole, as the path of their object URL.

-l prints SIZE, MODTIME (UTC, RFC 3339), ETAG and KEY; common prefixes
show "-" in the first three columns. SIZE is in bytes, or with a unit
(4.0 KiB, 1.5 GiB) when stdout is a terminal or --human-readable is given.
--summarize ends the listing with the number of objects and their total
size (common prefixes are not counted; with -r every object is). -json prints one JSON object
per line (JSON Lines), for objects
  {"key":"a/b","url":"s3://bucket/a/b?...","size":5,"modTime":"...","etag":"\"...\""}
and for common prefixes
  {"key":"a/","url":"s3://bucket/a/?...","prefix":true}

An empty listing is not an error; a missing bucket is (exit status 3).

A URL without a bucket or container (azblob://?account=..., or NAME: for
a named store without one) lists the containers, one "name/" per line
(-json: {"bucket":"name","url":"azblob://name?..."}). Listing the buckets
of an s3:// service is not supported yet.`

// lsEntry is one line of ls -json.
type lsEntry struct {
	Key     string     `json:"key"`
	URL     string     `json:"url"`
	Prefix  bool       `json:"prefix,omitempty"`
	Size    *int64     `json:"size,omitempty"`
	ModTime *time.Time `json:"modTime,omitempty"`
	ETag    string     `json:"etag,omitempty"`
}

func ls(ctx context.Context, args []string, e *env) int {
	fs := newFlags("ls", "[-l] [-r] [--json] [--summarize] [--human-readable] URL", lsAbout, e)
	long := fs.Bool("l", false, "print size, modification time and ETag")
	recursive := fs.Bool("r", false, "list every object under the prefix, flat, rather than one level")
	asJSON := fs.Bool("json", false, "print one JSON object per entry and line")
	human := fs.Bool("human-readable", false, "with -l, print sizes with a unit (the default on a terminal)")
	summarize := fs.Bool("summarize", false, "print the number of objects and their total size at the end")
	fs.alias("l", "long")
	fs.alias("r", "recursive")
	if code := parseFlags(fs, args, 1); code >= 0 {
		return code
	}
	if t, err := parseTarget(fs.Arg(0)); err == nil && t.isURL() && isServiceURL(t) {
		if err := listBuckets(ctx, t, e, *asJSON); err != nil {
			return fail(e.stderr, "ls", err)
		}
		return exitOK
	}
	st, t, done, err := openURL(ctx, fs.Arg(0))
	if err != nil {
		return fail(e.stderr, "ls", err)
	}
	defer done()
	opts := &objstore.ListOptions{Prefix: t.key}
	if !*recursive {
		opts.Delimiter = "/"
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	size := func(n int64) string { return strconv.FormatInt(n, 10) }
	if *human || isTerminal(e.stdout) {
		size = formatSize
	}
	var count, total int64
	enc := json.NewEncoder(e.stdout)
	var listErr error
	for ent, err := range st.List(ctx, opts) {
		if err != nil {
			listErr = err
			break
		}
		if !ent.IsPrefix {
			count++
			total += ent.Size
		}
		switch {
		case *asJSON:
			out := lsEntry{Key: ent.Key, URL: objectURL(t.store, ent.Key), Prefix: ent.IsPrefix}
			if !ent.IsPrefix {
				size, mod := ent.Size, ent.ModTime.UTC()
				out.Size, out.ModTime, out.ETag = &size, &mod, ent.ETag
			}
			if err := enc.Encode(out); err != nil {
				return fail(e.stderr, "ls", err)
			}
		case *long && ent.IsPrefix:
			fmt.Fprintf(tw, "%10s\t%s\t%s\t%s\n", "-", "-", "-", ent.Key)
		case *long:
			fmt.Fprintf(tw, "%10s\t%s\t%s\t%s\n", size(ent.Size), ent.ModTime.UTC().Format(time.RFC3339), ent.ETag, ent.Key)
		default:
			fmt.Fprintln(e.stdout, ent.Key)
		}
	}
	tw.Flush()
	if listErr != nil {
		return fail(e.stderr, "ls", listErr)
	}
	if *summarize && !*asJSON {
		fmt.Fprintf(e.stdout, "total: %d objects, %s\n", count, size(total))
	} else if *summarize {
		json.NewEncoder(e.stdout).Encode(map[string]int64{"totalObjects": count, "totalSize": total})
	}
	return exitOK
}
