package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/parts"
	"github.com/objstore-go/objstore/internal/pipeline"
)

// Copy copies src to dst on the server: no byte of the object passes
// through the client. One HeadObject of src gives the attributes the copy
// returns, checks IfMatch, and sizes the copy; every later request is
// pinned to the ETag it saw with x-amz-copy-source-if-match, so dst gets
// exactly that version of src, with its ContentType and Metadata.
//
// A source of up to CopyThreshold bytes (5 GiB) is copied with one
// CopyObject. A larger one, and any IfAbsent copy, is a multipart upload
// of UploadPartCopy parts, Concurrency at a time, completed with
// If-None-Match: * for IfAbsent. That makes IfAbsent atomic on servers
// that ignore conditions on CopyObject, as MinIO does. Cache-Control,
// Content-Disposition, Content-Encoding and Content-Language are carried
// over too; tags, storage class and encryption settings of a multipart
// copy are the bucket's defaults.
//
// Progress gets (0, size) after the HeadObject, then each UploadPartCopy
// part as S3 completes it, and (size, size) when the copy is done; a
// CopyObject has no parts in between.
//
// A missing src gives ErrNotFound, a src whose ETag is not IfMatch
// ErrPrecondition, an IfAbsent copy onto an existing dst ErrExists; dst is
// then untouched. If src is overwritten during a copy without IfMatch, the
// copy starts again from the HeadObject, up to three times.
func (s *bucket) Copy(ctx context.Context, dst, src string, r driver.CopyRequest) (driver.Attrs, error) {
	c := &copyJob{s: s, dst: dst, src: src, fullDst: dst, source: copySource(s.bucket, src),
		opts: objstore.CopyOptions{IfAbsent: r.IfAbsent, IfMatch: r.IfMatch}, prog: r.Progress}
	for attempt := 1; ; attempt++ {
		attrs, err := c.run(ctx, src)
		if err == nil {
			return attrs, nil
		}
		if !errors.Is(err, errSourceChanged) {
			return driver.Attrs{}, err
		}
		if attempt == 3 {
			return driver.Attrs{}, &driver.Error{Err: err,
				Hint: "src was overwritten during each of 3 attempts to copy it"}
		}
	}
}

// errSourceChanged reports that src no longer has the ETag a copy was
// pinned to.
var errSourceChanged = errors.New("src changed during the copy")

// copyJob is one Copy call.
type copyJob struct {
	s        *bucket
	dst, src string // the caller's keys
	fullDst  string
	source   string // the x-amz-copy-source value
	opts     objstore.CopyOptions
	prog     driver.Progress
}

// run makes one attempt at the copy.
func (c *copyJob) run(ctx context.Context, fullSrc string) (driver.Attrs, error) {
	s := c.s
	head, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{
		Bucket:  &s.bucket,
		Key:     &fullSrc,
		IfMatch: stringOrNil(c.opts.IfMatch),
	}, s.callOpts...)
	if err != nil {
		return driver.Attrs{}, s.fail(ctx, "copy", c.src, err, condNone)
	}
	c.prog.Start(aws.ToInt64(head.ContentLength))
	if !c.opts.IfAbsent && aws.ToInt64(head.ContentLength) <= s.opts.CopyThreshold {
		return c.copyObject(ctx, head)
	}
	return c.copyMultipart(ctx, head)
}

// sourceFailed turns the failure of a request pinned to src's ETag into
// the Copy's error.
func (c *copyJob) sourceFailed(ctx context.Context, err error) error {
	err = c.s.fail(ctx, "copy", c.src, err, condNone)
	if errors.Is(err, objstore.ErrPrecondition) && c.opts.IfMatch == "" {
		return errSourceChanged
	}
	return err
}

// copyObject copies with one CopyObject, pinned to head's ETag.
func (c *copyJob) copyObject(ctx context.Context, head *awss3.HeadObjectOutput) (driver.Attrs, error) {
	s := c.s
	out, err := s.client.CopyObject(ctx, &awss3.CopyObjectInput{
		Bucket:            &s.bucket,
		Key:               &c.fullDst,
		CopySource:        &c.source,
		CopySourceIfMatch: head.ETag,
		MetadataDirective: types.MetadataDirectiveCopy,
	}, s.callOpts...)
	if err != nil {
		// Only the source carries a condition: a 412 or a NoSuchKey is
		// about src.
		kind := classify(err, condNone)
		if kind == objstore.ErrPrecondition || kind == objstore.ErrNotFound {
			return driver.Attrs{}, c.sourceFailed(ctx, err)
		}
		return driver.Attrs{}, s.fail(ctx, "copy", c.dst, err, condNone)
	}
	a := headAttrs(c.dst, head)
	if r := out.CopyObjectResult; r != nil {
		a.ETag = driver.QuoteETag(aws.ToString(r.ETag))
		// Stat's Last-Modified has whole seconds; the XML has
		// milliseconds. Agree with Stat.
		a.ModTime = aws.ToTime(r.LastModified).UTC().Truncate(time.Second)
	}
	return a, nil
}

// copyMultipart copies as a multipart upload of UploadPartCopy parts,
// completed with If-None-Match: * for IfAbsent.
func (c *copyJob) copyMultipart(ctx context.Context, head *awss3.HeadObjectOutput) (driver.Attrs, error) {
	s := c.s
	a := headAttrs(c.dst, head)
	if a.Size == 0 {
		// UploadPartCopy copies at least a byte; an empty object is an
		// empty PutObject, with the same attributes.
		return c.putEmpty(ctx, head)
	}
	partSize := max(s.opts.CopyPartSize, (a.Size+int64(maxParts)-1)/int64(maxParts))
	if partSize > maxPartSize {
		return driver.Attrs{}, &driver.Error{Kind: objstore.ErrInvalidArgument,
			Err: fmt.Errorf("src is %d bytes, more than %d parts of 5 GiB hold", a.Size, maxParts)}
	}
	created, err := s.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{
		Bucket:             &s.bucket,
		Key:                &c.fullDst,
		ContentType:        &a.ContentType,
		Metadata:           head.Metadata,
		CacheControl:       head.CacheControl,
		ContentDisposition: head.ContentDisposition,
		ContentEncoding:    head.ContentEncoding,
		ContentLanguage:    head.ContentLanguage,
	}, s.callOpts...)
	if err != nil {
		return driver.Attrs{}, s.fail(ctx, "copy", c.dst, err, condNone)
	}
	up := &upload{s: s, op: "copy", key: c.dst, full: c.fullDst, id: aws.ToString(created.UploadId),
		contentType: a.ContentType, metadata: a.Metadata}
	parts, err := c.copyParts(ctx, up, head.ETag, a.Size, partSize)
	if err != nil {
		return driver.Attrs{}, up.abort(ctx, c.sourceFailed(ctx, err))
	}
	etag, mod, err := up.commit(ctx, parts, c.opts.IfAbsent, "")
	if err != nil {
		return driver.Attrs{}, err
	}
	a.ETag, a.ModTime = driver.QuoteETag(etag), mod
	return a, nil
}

// copyParts copies size bytes of the source in parts of partSize bytes,
// each pinned to etag, Concurrency at a time, and returns them in order.
// Each part S3 has copied is added to c.prog. The first error cancels the
// others and is returned as the SDK gave it.
func (c *copyJob) copyParts(ctx context.Context, up *upload, etag *string, size, partSize int64) ([]types.CompletedPart, error) {
	s := c.s
	n := int((size + partSize - 1) / partSize)
	completed := make([]types.CompletedPart, n)
	err := parts.Each(ctx, n, s.opts.Concurrency, func(ctx context.Context, i int) error {
		in := &awss3.UploadPartCopyInput{
			Bucket:            &s.bucket,
			Key:               &up.full,
			UploadId:          &up.id,
			PartNumber:        aws.Int32(int32(i + 1)),
			CopySource:        &c.source,
			CopySourceIfMatch: etag,
		}
		first := int64(i) * partSize
		last := min(first+partSize, size) - 1
		if n > 1 {
			in.CopySourceRange = aws.String(fmt.Sprintf("bytes=%d-%d", first, last))
		}
		out, err := s.client.UploadPartCopy(ctx, in, s.callOpts...)
		if err != nil {
			return err
		}
		completed[i] = types.CompletedPart{PartNumber: in.PartNumber}
		if r := out.CopyPartResult; r != nil {
			completed[i].ETag = r.ETag
		}
		c.prog.Add(last - first + 1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return completed, nil
}

// putEmpty writes the empty object head describes at dst, for an IfAbsent
// copy of an empty src.
func (c *copyJob) putEmpty(ctx context.Context, head *awss3.HeadObjectOutput) (driver.Attrs, error) {
	s := c.s
	a := headAttrs(c.dst, head)
	tctx, answers := pipeline.TrackAnswers(ctx)
	out, err := s.client.PutObject(tctx, &awss3.PutObjectInput{
		Bucket:             &s.bucket,
		Key:                &c.fullDst,
		Body:               http.NoBody,
		ContentLength:      aws.Int64(0),
		ContentType:        &a.ContentType,
		Metadata:           head.Metadata,
		CacheControl:       head.CacheControl,
		ContentDisposition: head.ContentDisposition,
		ContentEncoding:    head.ContentEncoding,
		ContentLanguage:    head.ContentLanguage,
		IfNoneMatch:        ifNoneMatch(c.opts.IfAbsent),
	}, s.callOpts...)
	if err != nil {
		cd := condNone
		if c.opts.IfAbsent {
			cd = condIfAbsent
		}
		failed := s.fail(ctx, "copy", c.dst, err, cd)
		if !answers.Lost() {
			return driver.Attrs{}, failed
		}
		h, err := s.settlePut(ctx, "copy", c.dst, c.fullDst, bytes.NewReader(nil), 0, a.ContentType, a.Metadata, cd, err, failed)
		if err != nil {
			return driver.Attrs{}, err
		}
		return headAttrs(c.dst, h), nil
	}
	a.ETag = driver.QuoteETag(aws.ToString(out.ETag))
	a.ModTime = serverTime(out.ResultMetadata)
	return a, nil
}

// copySource returns the x-amz-copy-source value for key in bucket: the
// key escaped by path segment, every byte but the unreserved ones and "/"
// percent-encoded. A space is %20 and a "+" is %2B, never "+", which
// servers that decode the header as a query (MinIO) read as a space.
func copySource(bucket, key string) string {
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(bucket)+1+3*len(key))
	b = append(b, bucket...)
	b = append(b, '/')
	for i := 0; i < len(key); i++ {
		switch ch := key[i]; {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9',
			ch == '-', ch == '_', ch == '.', ch == '~', ch == '/':
			b = append(b, ch)
		default:
			b = append(b, '%', hex[ch>>4], hex[ch&15])
		}
	}
	return string(b)
}
