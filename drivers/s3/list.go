package s3

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/internal/pipeline"
)

// maxEmptyPages is how many pages in a row may come back empty yet
// truncated before List gives up on a server that does not progress.
// MinIO sends one such page at the end of some listings.
const maxEmptyPages = 100

// List yields the objects under opts.Prefix in byte order, one
// ListObjectsV2 request per PageSize entries, objects and common prefixes
// merged in byte order. Breaking out of the loop sends no further request.
// A listing entry's ModTime is truncated to whole seconds, to agree with
// Stat's; it carries no ContentType or Metadata.
//
// A server that repeats a continuation token, sends one key after a
// greater one, or sends 100 empty pages in a row ends the listing with an
// error rather than a loop. A missing bucket gives ErrBucketNotFound.
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
		in := &awss3.ListObjectsV2Input{
			Bucket:     &s.bucket,
			Prefix:     stringOrNil(o.Prefix),
			Delimiter:  stringOrNil(o.Delimiter),
			StartAfter: stringOrNil(o.StartAfter),
			MaxKeys:    aws.Int32(int32(o.PageSize)),
			// Keys other tools wrote may hold characters that XML 1.0
			// cannot carry (U+0001): ask for them URL-encoded.
			EncodingType: types.EncodingTypeUrl,
		}
		var (
			last       string // the last key yielded, in backend terms
			yielded    bool
			emptyPages int
		)
		for {
			out, err := s.client.ListObjectsV2(ctx, in, s.callOpts...)
			if err != nil {
				yield(objstore.Entry{}, s.fail(ctx, "list", "", err, condNone))
				return
			}
			if err := decodeKeys(out); err != nil {
				yield(objstore.Entry{}, s.listFailed(err))
				return
			}
			entries := 0
			for full, e := range page(out) {
				switch {
				case yielded && full < last:
					yield(objstore.Entry{}, s.listFailed(fmt.Errorf("the server sent key %q after %q; listings are in byte order", full, last)))
					return
				case yielded && full == last:
					continue // a common prefix repeated at a page boundary
				case !strings.HasPrefix(full, s.ns.Prefix):
					continue
				}
				last, yielded = full, true
				entries++
				e.Key = s.ns.Rel(full)
				if !yield(e, nil) {
					return
				}
			}
			if !aws.ToBool(out.IsTruncated) {
				return
			}
			next := aws.ToString(out.NextContinuationToken)
			switch {
			case next == "":
				yield(objstore.Entry{}, s.listFailed(errors.New("the server sent a truncated page without a continuation token")))
				return
			case next == aws.ToString(in.ContinuationToken):
				yield(objstore.Entry{}, s.listFailed(errors.New("the server sent the same continuation token twice; the listing does not advance")))
				return
			}
			if entries == 0 {
				if emptyPages++; emptyPages > maxEmptyPages {
					yield(objstore.Entry{}, s.listFailed(fmt.Errorf("the server sent %d empty pages in a row; the listing does not advance", emptyPages)))
					return
				}
			} else {
				emptyPages = 0
			}
			in.ContinuationToken = &next
		}
	}
}

func (s *Store) listFailed(err error) error {
	return &objstore.Error{Driver: Scheme, Op: "list", Err: err}
}

// decodeKeys decodes the keys and common prefixes of a page that the
// server URL-encoded, as it says it did when it honours EncodingType; a
// server that ignores the parameter sends them as they are.
func decodeKeys(out *awss3.ListObjectsV2Output) error {
	if out.EncodingType != types.EncodingTypeUrl {
		return nil
	}
	decode := func(p **string) error {
		if *p == nil {
			return nil
		}
		k, err := url.QueryUnescape(**p)
		if err != nil {
			return fmt.Errorf("the server sent the URL-encoded key %q, which does not decode: %w", **p, err)
		}
		*p = &k
		return nil
	}
	for i := range out.Contents {
		if err := decode(&out.Contents[i].Key); err != nil {
			return err
		}
	}
	for i := range out.CommonPrefixes {
		if err := decode(&out.CommonPrefixes[i].Prefix); err != nil {
			return err
		}
	}
	return nil
}

// page yields the entries of one ListObjectsV2 page by backend key, its
// objects and common prefixes merged in byte order. Each list is sorted
// already.
func page(out *awss3.ListObjectsV2Output) iter.Seq2[string, objstore.Entry] {
	return func(yield func(string, objstore.Entry) bool) {
		objs, prefixes := out.Contents, out.CommonPrefixes
		for len(objs) > 0 || len(prefixes) > 0 {
			if len(prefixes) == 0 || len(objs) > 0 && aws.ToString(objs[0].Key) < aws.ToString(prefixes[0].Prefix) {
				ob := objs[0]
				objs = objs[1:]
				e := objstore.Entry{Attrs: objstore.Attrs{
					Size:    aws.ToInt64(ob.Size),
					ETag:    objstore.QuoteETag(aws.ToString(ob.ETag)),
					ModTime: aws.ToTime(ob.LastModified).UTC().Truncate(time.Second),
				}}
				if !yield(aws.ToString(ob.Key), e) {
					return
				}
				continue
			}
			p := aws.ToString(prefixes[0].Prefix)
			prefixes = prefixes[1:]
			if !yield(p, objstore.Entry{IsPrefix: true}) {
				return
			}
		}
	}
}
