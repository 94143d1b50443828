package s3

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/objstore-go/objstore/driver"
)

// List returns one ListObjectsV2 page of up to PageSize entries, objects
// and common prefixes merged in byte order; the token is S3's
// continuation token. A listing entry's ModTime is truncated to whole
// seconds, to agree with Stat's; it carries no ContentType or Metadata.
// The portable store guards the listing: a server that repeats a
// continuation token, sends one key after a greater one, or sends 100
// empty pages in a row ends it with an error rather than a loop (MinIO
// sends one empty, truncated page at the end of some listings). A missing
// bucket gives ErrBucketNotFound.
func (s *bucket) List(ctx context.Context, r driver.ListRequest) (driver.Page, error) {
	in := &awss3.ListObjectsV2Input{
		Bucket:            &s.bucket,
		Prefix:            stringOrNil(r.Prefix),
		Delimiter:         stringOrNil(r.Delimiter),
		StartAfter:        stringOrNil(r.StartAfter),
		ContinuationToken: stringOrNil(r.Token),
		MaxKeys:           aws.Int32(int32(r.PageSize)),
		// Keys other tools wrote may hold characters that XML 1.0
		// cannot carry (U+0001): ask for them URL-encoded.
		EncodingType: types.EncodingTypeUrl,
	}
	out, err := s.client.ListObjectsV2(ctx, in, s.callOpts...)
	if err != nil {
		return driver.Page{}, s.fail(ctx, "list", "", err, condNone)
	}
	if err := decodeKeys(out); err != nil {
		return driver.Page{}, s.listFailed(err)
	}
	var p driver.Page
	for full, e := range page(out) {
		e.Key = full
		p.Entries = append(p.Entries, e)
	}
	if aws.ToBool(out.IsTruncated) {
		if p.Next = aws.ToString(out.NextContinuationToken); p.Next == "" {
			return driver.Page{}, s.listFailed(errors.New("the server sent a truncated page without a continuation token"))
		}
	}
	return p, nil
}

func (s *bucket) listFailed(err error) error {
	return &driver.Error{Err: err}
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
func page(out *awss3.ListObjectsV2Output) iter.Seq2[string, driver.Entry] {
	return func(yield func(string, driver.Entry) bool) {
		objs, prefixes := out.Contents, out.CommonPrefixes
		for len(objs) > 0 || len(prefixes) > 0 {
			if len(prefixes) == 0 || len(objs) > 0 && aws.ToString(objs[0].Key) < aws.ToString(prefixes[0].Prefix) {
				ob := objs[0]
				objs = objs[1:]
				e := driver.Entry{Attrs: driver.Attrs{
					Size:    aws.ToInt64(ob.Size),
					ETag:    driver.QuoteETag(aws.ToString(ob.ETag)),
					ModTime: aws.ToTime(ob.LastModified).UTC().Truncate(time.Second),
				}}
				if !yield(aws.ToString(ob.Key), e) {
					return
				}
				continue
			}
			p := aws.ToString(prefixes[0].Prefix)
			prefixes = prefixes[1:]
			if !yield(p, driver.Entry{IsPrefix: true}) {
				return
			}
		}
	}
}
