package azure

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/internal/pipeline"
)

var errMarkerRepeated = errors.New("the service returned a continuation marker it had returned before; the listing would never end")

// List yields the objects under opts.Prefix in byte order, one List Blobs
// request (ListBlobsFlat, or ListBlobsHierarchy with Delimiter "/") per
// PageSize entries, following the service's continuation marker. Breaking
// out of the loop sends no further request, and a marker the service
// repeats ends the listing with an error rather than looping.
//
// StartAfter is exclusive. Azure's markers are opaque and cannot be made
// from a key, so StartAfter is sent as startFrom (inclusive; services
// that predate it, and the rest, are covered by filtering on the client:
// entries up to StartAfter are dropped). With a delimiter, a common prefix
// that StartAfter falls inside is listed only if it holds a key after
// StartAfter, which costs one more request. A service that rejects
// startFrom is asked again without it, and the store stops sending it.
//
// Entries carry Key, Size, ETag (quoted) and ModTime; listings carry no
// ContentType or Metadata. A missing container gives ErrBucketNotFound.
func (s *Store) List(ctx context.Context, opts *objstore.ListOptions) iter.Seq2[objstore.Entry, error] {
	return func(yield func(objstore.Entry, error) bool) {
		o, err := s.ns.List(opts)
		if err != nil {
			yield(objstore.Entry{}, err)
			return
		}
		ctx, end, err := s.start(ctx, "list", "")
		if err != nil {
			yield(objstore.Entry{}, err)
			return
		}
		yield, finish := pipeline.Yield(yield, end)
		defer finish()
		after := o.StartAfter
		if after != "" && !strings.HasPrefix(after, o.Prefix) {
			if after > o.Prefix {
				return // every key under the prefix sorts before StartAfter
			}
			after = "" // every key under the prefix sorts after it
		}
		l := &lister{s: s, prefix: o.Prefix, delim: o.Delimiter, after: after, pageSize: int32(o.PageSize)}
		l.run(ctx, yield)
	}
}

type lister struct {
	s        *Store
	prefix   string // full, with the store's prefix
	delim    string
	after    string // full; "" for none
	pageSize int32
}

// listEntry is an entry with its full name.
type listEntry struct {
	name string
	objstore.Entry
}

// page fetches one page from marker and returns its entries in byte order
// (Azure returns blobs and prefixes in two lists), and the next marker.
type pageFunc func(ctx context.Context, marker, startFrom *string) ([]listEntry, string, error)

func (l *lister) run(ctx context.Context, yield func(objstore.Entry, error) bool) {
	l.walk(ctx, l.fetch, yield)
}

// walk drives the pages of fetch, filters them by StartAfter and yields
// the entries.
func (l *lister) walk(ctx context.Context, fetch pageFunc, yield func(objstore.Entry, error) bool) {
	var marker, startFrom *string
	if l.after != "" && !l.s.noStartFrom.Load() {
		from := l.after
		if l.delim != "" {
			// One path level only: from the segment StartAfter is in.
			if i := strings.Index(from[len(l.prefix):], l.delim); i >= 0 {
				from = from[:len(l.prefix)+i]
			}
		}
		startFrom = &from
	}
	seen := map[string]bool{}
	for {
		if err := ctx.Err(); err != nil {
			yield(objstore.Entry{}, failKind("list", "", nil, err))
			return
		}
		page, next, err := fetch(ctx, marker, startFrom)
		if err != nil {
			if startFrom != nil && marker == nil && rejectsStartFrom(err) {
				l.s.noStartFrom.Store(true)
				startFrom = nil
				continue
			}
			yield(objstore.Entry{}, l.s.fail("list", "", err, condNone))
			return
		}
		for _, e := range page {
			keep, err := l.keep(ctx, e)
			if err != nil {
				yield(objstore.Entry{}, err)
				return
			}
			if !keep {
				continue
			}
			e.Key = l.s.ns.Rel(e.name)
			if !yield(e.Entry, nil) {
				return
			}
		}
		if next == "" {
			return
		}
		if seen[next] {
			yield(objstore.Entry{}, failKind("list", "", nil, errMarkerRepeated))
			return
		}
		seen[next] = true
		marker = &next
	}
}

// keep reports whether e sorts after StartAfter. A common prefix that
// StartAfter falls inside is kept if a key under it sorts after
// StartAfter.
func (l *lister) keep(ctx context.Context, e listEntry) (bool, error) {
	switch {
	case l.after == "" || e.name > l.after:
		return true, nil
	case !e.IsPrefix || !strings.HasPrefix(l.after, e.name):
		return false, nil
	}
	sub := &lister{s: l.s, prefix: e.name, after: l.after, pageSize: 1000}
	found := false
	var err error
	sub.walk(ctx, sub.fetch, func(_ objstore.Entry, e error) bool {
		if e != nil {
			err = e
		} else {
			found = true
		}
		return false
	})
	return found, err
}

// rejectsStartFrom reports a 400 that names startFrom, as a service
// version that does not know it could answer.
func rejectsStartFrom(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusBadRequest &&
		strings.Contains(strings.ToLower(re.Error()), "startfrom")
}

func (l *lister) fetch(ctx context.Context, marker, startFrom *string) ([]listEntry, string, error) {
	if l.delim == "" {
		resp, err := l.s.cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
			Prefix: &l.prefix, Marker: marker, MaxResults: &l.pageSize, StartFrom: startFrom,
		}).NextPage(ctx)
		if err != nil {
			return nil, "", err
		}
		if resp.Segment == nil {
			return nil, deref(resp.NextMarker), nil
		}
		out := make([]listEntry, 0, len(resp.Segment.BlobItems))
		for _, b := range resp.Segment.BlobItems {
			out = append(out, blobEntry(b))
		}
		return out, deref(resp.NextMarker), nil
	}
	resp, err := l.s.cc.NewListBlobsHierarchyPager(l.delim, &container.ListBlobsHierarchyOptions{
		Prefix: &l.prefix, Marker: marker, MaxResults: &l.pageSize, StartFrom: startFrom,
	}).NextPage(ctx)
	if err != nil {
		return nil, "", err
	}
	if resp.Segment == nil {
		return nil, deref(resp.NextMarker), nil
	}
	blobs, prefixes := resp.Segment.BlobItems, resp.Segment.BlobPrefixes
	out := make([]listEntry, 0, len(blobs)+len(prefixes))
	for len(blobs) > 0 || len(prefixes) > 0 {
		if len(prefixes) == 0 || (len(blobs) > 0 && deref(blobs[0].Name) < deref(prefixes[0].Name)) {
			out = append(out, blobEntry(blobs[0]))
			blobs = blobs[1:]
			continue
		}
		name := deref(prefixes[0].Name)
		out = append(out, listEntry{name: name, Entry: objstore.Entry{IsPrefix: true}})
		prefixes = prefixes[1:]
	}
	return out, deref(resp.NextMarker), nil
}

func blobEntry(b *container.BlobItem) listEntry {
	e := listEntry{name: deref(b.Name)}
	if p := b.Properties; p != nil {
		e.Size = deref(p.ContentLength)
		e.ETag = etagString(p.ETag)
		e.ModTime = timeOf(p.LastModified)
	}
	return e
}
