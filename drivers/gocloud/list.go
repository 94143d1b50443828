package gocloud

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/objstore-go/objstore"
)

// errStuckToken is the error for a driver whose page token does not
// advance.
var errStuckToken = errors.New("the gocloud driver returned the same page token twice; stopping rather than looping forever")

// List yields the objects under opts.Prefix a page at a time with
// blob.Bucket.ListPage. Breaking out of the loop stops further requests.
//
// gocloud has no StartAfter: the bridge lists from the start of the prefix
// and drops what sorts at or before StartAfter, so a StartAfter deep into
// a large prefix costs the listing up to it. gocloud's list entries carry
// no ETag: each object entry costs one Attributes call (an entry deleted
// in between is left out). Both are noted in docs/GOCLOUD.md.
func (s *Store) List(ctx context.Context, opts *objstore.ListOptions) iter.Seq2[objstore.Entry, error] {
	return func(yield func(objstore.Entry, error) bool) {
		o, err := s.ns.List(opts)
		if err == nil {
			err = s.begin(ctx, "list", "")
		}
		if err != nil {
			yield(objstore.Entry{}, err)
			return
		}
		lo := &blob.ListOptions{Prefix: o.Prefix, Delimiter: o.Delimiter}
		token := blob.FirstPageToken
		for len(token) > 0 {
			if err := ctx.Err(); err != nil {
				yield(objstore.Entry{}, s.fail(ctx, "list", "", err))
				return
			}
			page, next, err := s.b.ListPage(ctx, token, o.PageSize, lo)
			if err != nil {
				yield(objstore.Entry{}, s.fail(ctx, "list", "", err))
				return
			}
			if len(next) > 0 && bytes.Equal(next, token) {
				yield(objstore.Entry{}, &objstore.Error{Driver: s.ns.Driver, Op: "list", Err: errStuckToken})
				return
			}
			for _, obj := range page {
				e, ok, err := s.entry(ctx, obj, o.StartAfter)
				if err != nil {
					yield(objstore.Entry{}, err)
					return
				}
				if ok && !yield(e, nil) {
					return
				}
			}
			token = next
		}
	}
}

// entry converts one gocloud list result, reporting ok == false for one
// to leave out: at or before startAfter, or deleted since it was listed.
func (s *Store) entry(ctx context.Context, obj *blob.ListObject, startAfter string) (e objstore.Entry, ok bool, err error) {
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
		return objstore.Entry{Attrs: objstore.Attrs{Key: s.ns.Rel(obj.Key)}, IsPrefix: true}, true, nil
	}
	if startAfter != "" && obj.Key <= startAfter {
		return e, false, nil
	}
	a, err := s.b.Attributes(ctx, obj.Key)
	switch {
	case gcerrors.Code(err) == gcerrors.NotFound && ctx.Err() == nil && !bucketMissing(err):
		return e, false, nil
	case err != nil:
		return e, false, s.fail(ctx, "list", "", err)
	}
	return objstore.Entry{Attrs: objstore.Attrs{Key: s.ns.Rel(obj.Key), Size: a.Size, ETag: objstore.QuoteETag(a.ETag), ModTime: a.ModTime}}, true, nil
}

// anyAfter reports whether some key under prefix sorts after startAfter.
func (s *Store) anyAfter(ctx context.Context, prefix, startAfter string) (bool, error) {
	it := s.b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		switch {
		case err != nil && err == io.EOF:
			return false, nil
		case err != nil:
			return false, s.fail(ctx, "list", "", err)
		case obj.Key > startAfter:
			return true, nil
		}
	}
}
