package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
)

const catAbout = `Writes the bytes of the object at URL to stdout. If the read fails
midway, what was written stays written and the status is 1.`

func cat(ctx context.Context, args []string, e *env) int {
	fs := newFlags("cat", "URL", catAbout, e)
	if code := parseFlags(fs, args, 1); code >= 0 {
		return code
	}
	st, t, done, err := openURL(ctx, fs.Arg(0))
	if err != nil {
		return fail(e.stderr, "cat", err)
	}
	defer done()
	r, err := st.Get(ctx, t.key, nil)
	if err != nil {
		return fail(e.stderr, "cat", err)
	}
	defer r.Close()
	if _, err := io.Copy(e.stdout, r); err != nil {
		return fail(e.stderr, "cat", err)
	}
	return exitOK
}

const statAbout = `Prints the attributes of the object at URL: key, URL, size, ETag,
modification time, content type and metadata. -json prints them as one
JSON object:
  {"key":"a/b","url":"...","size":5,"etag":"\"...\"","modTime":"...",
   "contentType":"text/plain","metadata":{"k":"v"}}
A missing object gives exit status 3.`

// statOut is the output of stat -json.
type statOut struct {
	Key         string            `json:"key"`
	URL         string            `json:"url"`
	Size        int64             `json:"size"`
	ETag        string            `json:"etag"`
	ModTime     time.Time         `json:"modTime"`
	ContentType string            `json:"contentType"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

func stat(ctx context.Context, args []string, e *env) int {
	fs := newFlags("stat", "[-json] URL", statAbout, e)
	asJSON := fs.Bool("json", false, "print the attributes as one JSON object")
	if code := parseFlags(fs, args, 1); code >= 0 {
		return code
	}
	st, t, done, err := openURL(ctx, fs.Arg(0))
	if err != nil {
		return fail(e.stderr, "stat", err)
	}
	defer done()
	a, err := st.Stat(ctx, t.key)
	if err != nil {
		return fail(e.stderr, "stat", err)
	}
	out := statOut{Key: a.Key, URL: objectURL(t.store, a.Key), Size: a.Size, ETag: a.ETag,
		ModTime: a.ModTime.UTC(), ContentType: a.ContentType, Metadata: a.Metadata}
	if out.Key == "" {
		out.Key, out.URL = t.key, t.String()
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fail(e.stderr, "stat", err)
		}
		return exitOK
	}
	fmt.Fprintf(e.stdout, "key:          %s\nurl:          %s\nsize:         %d\netag:         %s\nmodified:     %s\ncontent-type: %s\n",
		out.Key, out.URL, out.Size, out.ETag, out.ModTime.Format(time.RFC3339), out.ContentType)
	for _, k := range slices.Sorted(maps.Keys(out.Metadata)) {
		fmt.Fprintf(e.stdout, "metadata:     %s=%s\n", k, out.Metadata[k])
	}
	return exitOK
}
