package gocloud

import (
	"context"
	"io"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/objstore-go/objstore/driver"
)

// List returns one page with blob.Bucket.ListPage; the token is
// gocloud's page token.
//
// gocloud has no StartAfter: the bridge lists from the start of the prefix
// and drops what sorts at or before StartAfter, so a StartAfter deep into
// a large prefix costs the listing up to it. gocloud's list entries carry
// no ETag: each object entry costs one Attributes call (an entry deleted
// in between is left out). Both are noted in docs/GOCLOUD.md.
func (s *bridge) List(ctx context.Context, r driver.ListRequest) (driver.Page, error) {
	token := blob.FirstPageToken
	if r.Token != "" {
		token = []byte(r.Token)
	}
	page, next, err := s.b.ListPage(ctx, token, r.PageSize, &blob.ListOptions{Prefix: r.Prefix, Delimiter: r.Delimiter})
	if err != nil {
		return driver.Page{}, s.fail(ctx, err)
	}
	out := driver.Page{Next: string(next), Entries: make([]driver.Entry, 0, len(page))}
	for _, obj := range page {
		e, ok, err := s.entry(ctx, obj, r.StartAfter)
		if err != nil {
			return driver.Page{}, err
		}
		if ok {
			out.Entries = append(out.Entries, e)
		}
	}
	return out, nil
}

// entry converts one gocloud list result, reporting ok == false for one
// to leave out: at or before startAfter, or deleted since it was listed.
func (s *bridge) entry(ctx context.Context, obj *blob.ListObject, startAfter string) (e driver.Entry, ok bool, err error) {
	if obj.IsDir {
		// A common prefix stands for its keys: it is listed when one of
		// them sorts after startAfter.
		switch {
		case startAfter == "" || obj.Key > startAfter:
		case strings.HasPrefix(startAfter, obj.Key):
			if ok, err = s.anyAfter(ctx, obj.Key, startAfter); !ok || err != nil {
				return e, false, err
			}
		default:
			return e, false, nil
		}
		return driver.Entry{Attrs: driver.Attrs{Key: obj.Key}, IsPrefix: true}, true, nil
	}
	if startAfter != "" && obj.Key <= startAfter {
		return e, false, nil
	}
	a, err := s.b.Attributes(ctx, obj.Key)
	switch {
	case gcerrors.Code(err) == gcerrors.NotFound && ctx.Err() == nil && !bucketMissing(err):
		return e, false, nil
	case err != nil:
		return e, false, s.fail(ctx, err)
	}
	return driver.Entry{Attrs: driver.Attrs{Key: obj.Key, Size: a.Size, ETag: driver.QuoteETag(a.ETag), ModTime: a.ModTime}}, true, nil
}

// anyAfter reports whether some key under prefix sorts after startAfter.
func (s *bridge) anyAfter(ctx context.Context, prefix, startAfter string) (bool, error) {
	it := s.b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		switch {
		case err != nil && err == io.EOF:
			return false, nil
		case err != nil:
			return false, s.fail(ctx, err)
		case obj.Key > startAfter:
			return true, nil
		}
	}
}
