package azure

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/objstore-go/objstore/driver"
)

// List returns one page of List Blobs (ListBlobsFlat, or
// ListBlobsHierarchy with Delimiter "/") of up to PageSize entries; the
// token is the service's continuation marker.
//
// StartAfter is exclusive. Azure's markers are opaque and cannot be made
// from a key, so StartAfter is sent as startFrom (inclusive) with the
// first page; services that predate it, and the rest, are covered by
// filtering: entries up to StartAfter are dropped. With a delimiter, a
// common prefix that StartAfter falls inside is listed only if it holds a
// key after StartAfter, which costs one more request. A service that
// rejects startFrom is asked again without it, and the store stops
// sending it.
//
// Entries carry Key, Size, ETag (quoted) and ModTime; listings carry no
// ContentType or Metadata. A missing container gives ErrBucketNotFound.
func (s *bucket) List(ctx context.Context, r driver.ListRequest) (driver.Page, error) {
	after := r.StartAfter
	if after != "" && !strings.HasPrefix(after, r.Prefix) {
		if after > r.Prefix {
			return driver.Page{}, nil // every key under the prefix sorts before StartAfter
		}
		after = "" // every key under the prefix sorts after it
	}
	l := &lister{s: s, prefix: r.Prefix, delim: r.Delimiter, after: after, pageSize: int32(r.PageSize)}
	return l.page(ctx, r.Token)
}

type lister struct {
	s        *bucket
	prefix   string // full, with the store's prefix
	delim    string
	after    string // full; "" for none
	pageSize int32
	fetchFn  pageFunc // nil: l.fetch; tests set a service of their own
}

// pageFunc fetches one page from marker and returns its entries in byte
// order (Azure returns blobs and prefixes in two lists), and the next
// marker.
type pageFunc func(ctx context.Context, marker, startFrom *string) ([]listEntry, string, error)

// listEntry is an entry with its full name.
type listEntry struct {
	name string
	driver.Entry
}

// page fetches the page at marker ("" for the first), drops what sorts at
// or before StartAfter, and returns the rest with the next marker.
func (l *lister) page(ctx context.Context, marker string) (driver.Page, error) {
	var startFrom *string
	if marker == "" && l.after != "" && !l.s.noStartFrom.Load() {
		from := l.after
		if l.delim != "" {
			// One path level only: from the segment StartAfter is in.
			if i := strings.Index(from[len(l.prefix):], l.delim); i >= 0 {
				from = from[:len(l.prefix)+i]
			}
		}
		startFrom = &from
	}
	fetch := l.fetchFn
	if fetch == nil {
		fetch = l.fetch
	}
	entries, next, err := fetch(ctx, stringOrNil(marker), startFrom)
	if err != nil && startFrom != nil && rejectsStartFrom(err) {
		l.s.noStartFrom.Store(true)
		entries, next, err = fetch(ctx, nil, nil)
	}
	if err != nil {
		return driver.Page{}, l.s.fail("list", "", err, condNone)
	}
	p := driver.Page{Next: next, Entries: make([]driver.Entry, 0, len(entries))}
	for _, e := range entries {
		keep, err := l.keep(ctx, e)
		if err != nil {
			return driver.Page{}, err
		}
		if keep {
			e.Key = e.name
			p.Entries = append(p.Entries, e.Entry)
		}
	}
	return p, nil
}

func stringOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// keep reports whether e sorts after StartAfter. A common prefix that
// StartAfter falls inside is kept if a key under it sorts after
// StartAfter, which costs a listing of it up to that key.
func (l *lister) keep(ctx context.Context, e listEntry) (bool, error) {
	switch {
	case l.after == "" || e.name > l.after:
		return true, nil
	case !e.IsPrefix || !strings.HasPrefix(l.after, e.name):
		return false, nil
	}
	sub := &lister{s: l.s, prefix: e.name, after: l.after, pageSize: 1000, fetchFn: l.fetchFn}
	for marker := ""; ; {
		p, err := sub.page(ctx, marker)
		switch {
		case err != nil:
			return false, err
		case len(p.Entries) > 0:
			return true, nil
		case p.Next == "" || p.Next == marker:
			return false, nil
		}
		marker = p.Next
	}
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
		out = append(out, listEntry{name: name, Entry: driver.Entry{IsPrefix: true}})
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
