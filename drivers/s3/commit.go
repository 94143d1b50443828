package s3

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/parts"
	"github.com/objstore-go/objstore/internal/pipeline"
)

// A write whose answer is lost is resent by the pipeline, and the resend
// can meet the write's own first attempt: CompleteMultipartUpload answers
// NoSuchUpload (the upload became the object), a conditional write 412
// (the key the write made now fails If-None-Match: * or If-Match). This
// file tells such an answer from a real failure (docs/SEMANTICS.md, P10).

// errUploadGone is the cause of a CompleteMultipartUpload answered
// NoSuchUpload when no attempt could have completed the upload.
var errUploadGone = errors.New("the multipart upload is gone: another client, or a lifecycle rule, aborted it before it completed; nothing was written")

// commit completes the upload from parts, with the write's conditions, and
// returns the new object's ETag and modification time. When the complete
// fails after one of its attempts lost its answer, settle finds out
// whether that attempt completed the upload: a success, whatever the
// resend was answered. Any other failure aborts the upload.
func (u *upload) commit(ctx context.Context, completed []types.CompletedPart, ifAbsent bool, ifMatch string) (string, time.Time, error) {
	c := condNone
	switch {
	case ifAbsent:
		c = condIfAbsent
	case ifMatch != "":
		c = condIfMatch
	}
	tctx, answers := pipeline.TrackAnswers(ctx)
	out, err := u.s.client.CompleteMultipartUpload(tctx, &awss3.CompleteMultipartUploadInput{
		Bucket:          &u.s.bucket,
		Key:             &u.full,
		UploadId:        &u.id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed},
		IfNoneMatch:     ifNoneMatch(ifAbsent),
		IfMatch:         stringOrNil(ifMatch),
	}, u.s.callOpts...)
	if err == nil && !answers.Lost() {
		return aws.ToString(out.ETag), serverTime(out.ResultMetadata), nil
	}
	if err == nil {
		// A server may answer a resent Complete of an upload already
		// completed with success, whatever the key holds now: versitygw
		// does, without checking the write's conditions. Look.
		want, computed := multipartETag(completed)
		if !computed {
			want, computed = aws.ToString(out.ETag), out.ETag != nil
		}
		head, err := u.identify(ctx, c, want, computed,
			fmt.Errorf("CompleteMultipartUpload was answered with success (ETag %s) after an attempt whose answer was lost", aws.ToString(out.ETag)))
		if err != nil {
			return "", time.Time{}, err
		}
		return aws.ToString(head.ETag), aws.ToTime(head.LastModified).UTC(), nil
	}
	gone := isNoSuchUpload(err)
	cause := u.s.fail(ctx, u.op, u.key, err, c)
	if gone {
		cause = &driver.Error{Err: fmt.Errorf("%w: %w", errUploadGone, err),
			Hint: "write again"}
	}
	switch {
	case answers.Lost():
		head, err := u.settle(ctx, completed, c, err, cause)
		if err != nil {
			return "", time.Time{}, err
		}
		return aws.ToString(head.ETag), aws.ToTime(head.LastModified).UTC(), nil
	case gone:
		return "", time.Time{}, cause // nothing left to abort
	}
	return "", time.Time{}, u.abort(ctx, cause)
}

// settle decides what a CompleteMultipartUpload that failed with err did
// when one of its attempts lost its answer: that attempt may have
// completed the upload, whatever the last attempt was answered (cause is
// err's error). A ListParts tells: if the upload is still there, no
// attempt completed it, it is aborted, and cause stands. (An abort cannot
// tell: MinIO answers an abort of a completed upload with success.) If it
// is gone, the lost attempt completed it or another client aborted it,
// and the object tells which (see identify).
func (u *upload) settle(ctx context.Context, completed []types.CompletedPart, c cond, err, cause error) (*awss3.HeadObjectOutput, error) {
	lctx, end := u.s.pipe.Begin(ctx, "check", u.key)
	_, lerr := u.s.client.ListParts(lctx, &awss3.ListPartsInput{Bucket: &u.s.bucket, Key: &u.full, UploadId: &u.id, MaxParts: aws.Int32(1)}, u.s.callOpts...)
	end(lerr)
	switch {
	case lerr == nil:
		return nil, u.abort(ctx, cause)
	case !isNoSuchUpload(lerr):
		return nil, u.abort(ctx, parts.LostAnswer(ctx, Scheme, u.op, u.key,
			fmt.Sprintf("listing the parts of multipart upload %s, to find out whether it was completed, failed (%v)", u.id, lerr), err))
	}
	want, computed := multipartETag(completed)
	return u.identify(ctx, c, want, computed, err)
}

// identify looks at the key after the upload is gone, completed by an
// attempt whose answer was lost or aborted by another client, to tell
// which. The object's ETag being want (the ETag the upload's parts make),
// with the upload's ContentType and Metadata, is this write: identify
// returns its HeadObject. Anything else is another writer's object: for a
// conditional write (c) that is the condition failing (ErrExists,
// ErrPrecondition), for an unconditional one a write that may have been
// stored and then replaced (parts.LostAnswer, with err as its cause). The
// same bytes in the same parts with the same ContentType and Metadata,
// written by another client, would pass for this write; they are the
// object this write would have made. computed is false when want could
// not be computed, and no object is then this write.
func (u *upload) identify(ctx context.Context, c cond, want string, computed bool, err error) (*awss3.HeadObjectOutput, error) {
	head, herr := u.s.check(ctx, u.key, u.full)
	switch {
	case herr == nil && computed && u.ours(head, want):
		return head, nil
	case herr != nil && errors.Is(u.s.fail(ctx, u.op, u.key, herr, condNone), objstore.ErrNotFound):
		return nil, parts.LostAnswer(ctx, Scheme, u.op, u.key,
			"the upload is gone and the key is missing: this write was stored and then deleted, or another client aborted the upload", err)
	case herr != nil:
		return nil, parts.LostAnswer(ctx, Scheme, u.op, u.key,
			fmt.Sprintf("the upload is gone, and looking at the object failed (%v)", herr), err)
	case !computed:
		return nil, parts.LostAnswer(ctx, Scheme, u.op, u.key, fmt.Sprintf(
			"the upload is gone, and the object's ETag %s cannot be checked: the parts' ETags are not MD5s (as with SSE-KMS or SSE-C)",
			aws.ToString(head.ETag)), err)
	}
	other := fmt.Sprintf("another writer's object holds the key (ETag %s, not this upload's %s); "+
		"the attempt whose answer was lost may have stored this write before it", aws.ToString(head.ETag), want)
	switch c {
	case condIfAbsent:
		return nil, &driver.Error{Kind: objstore.ErrExists, Err: fmt.Errorf("%s: %w", other, err)}
	case condIfMatch:
		return nil, &driver.Error{Kind: objstore.ErrPrecondition, Err: fmt.Errorf("%s: %w", other, err)}
	}
	return nil, parts.LostAnswer(ctx, Scheme, u.op, u.key, fmt.Sprintf(
		"the upload is gone and the key holds another object (ETag %s, not this upload's %s): this write was stored and then replaced, or another client aborted the upload",
		aws.ToString(head.ETag), want), err)
}

// ours reports whether head is the object this upload makes: its ETag is
// etag, and its ContentType and Metadata are the upload's.
func (u *upload) ours(head *awss3.HeadObjectOutput, etag string) bool {
	return sameETag(aws.ToString(head.ETag), etag) &&
		driver.ContentTypeOrDefault(aws.ToString(head.ContentType)) == u.contentType &&
		maps.Equal(driver.NormalizeMetadata(head.Metadata), u.metadata)
}

// multipartETag returns the ETag S3 gives the object that a multipart
// upload of completed makes: the MD5 of the parts' binary MD5s, then "-"
// and the number of parts. computed is false when a part's ETag is not an
// MD5, as with SSE-KMS or SSE-C.
func multipartETag(completed []types.CompletedPart) (etag string, computed bool) {
	h := md5.New()
	for _, p := range completed {
		b, err := hex.DecodeString(strings.Trim(aws.ToString(p.ETag), `"`))
		if err != nil || len(b) != md5.Size {
			return "", false
		}
		h.Write(b)
	}
	return fmt.Sprintf(`"%x-%d"`, h.Sum(nil), len(completed)), true
}

// sameETag compares two ETags, quoted or not.
func sameETag(a, b string) bool { return strings.Trim(a, `"`) == strings.Trim(b, `"`) }

func isNoSuchUpload(err error) bool {
	code, _, _ := errorDetails(err)
	return code == "NoSuchUpload"
}

// check looks at the object a write wrote, to find out what an attempt
// whose answer was lost did. It is an operation of its own in the
// pipeline, as an abort is, so that the attempts the write's error
// reports are those of the write's request; unlike an abort it keeps
// ctx's cancellation, as nothing is left behind if it is not sent.
func (s *bucket) check(ctx context.Context, key, full string) (*awss3.HeadObjectOutput, error) {
	ctx, end := s.pipe.Begin(ctx, "check", key)
	head, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: &full}, s.callOpts...)
	end(err)
	return head, err
}

// settlePut decides what a PutObject of the size bytes of body, with
// ContentType ct, Metadata md and condition c, did when it failed with err
// (failed is its classified error) after one of its attempts lost its
// answer: that attempt may have stored the body, and a resend of a
// conditional put then fails its condition on it. The key tells: if it
// holds another object (another ETag, ContentType or Metadata), or none,
// failed stands. If it holds exactly the body (its ETag is the body's
// MD5) with this put's ContentType and Metadata, an unconditional put
// succeeded, and settlePut returns the object's HeadObject. A conditional
// one may have: the lost attempt stored it, or another writer stored the
// same, and a single PutObject carries nothing that tells them apart; so
// it gets an error with no class (parts.LostAnswer), as it does when the
// key cannot be looked at. Where the ETag is not the body's MD5 (SSE-KMS,
// SSE-C), failed stands.
func (s *bucket) settlePut(ctx context.Context, op, key, full string, body io.ReadSeeker, size int64, ct string, md map[string]string,
	c cond, err, failed error) (*awss3.HeadObjectOutput, error) {
	head, same, why := s.holds(ctx, key, full, body, size, ct, md)
	switch {
	case c == condNone && same:
		return head, nil
	case c == condNone:
		return nil, failed
	case why != "":
		return nil, parts.LostAnswer(ctx, Scheme, op, key, why, err)
	case same:
		return nil, parts.LostAnswer(ctx, Scheme, op, key,
			"the key holds exactly this write's bytes, ContentType and Metadata, stored by the attempt whose answer was lost or by another writer; nothing tells them apart", err)
	}
	return nil, failed
}

// holds reports whether the key holds exactly the size bytes of body with
// ContentType ct and Metadata md, as one PutObject of them makes it: the
// object's ETag is their MD5. why says what kept it from finding out.
func (s *bucket) holds(ctx context.Context, key, full string, body io.ReadSeeker, size int64, ct string, md map[string]string) (
	head *awss3.HeadObjectOutput, same bool, why string) {
	head, err := s.check(ctx, key, full)
	switch {
	case err != nil && errors.Is(s.fail(ctx, "check", key, err, condNone), objstore.ErrNotFound):
		return nil, false, ""
	case err != nil:
		return nil, false, fmt.Sprintf("looking at the object, to find out whether the write was stored, failed (%v)", err)
	case aws.ToInt64(head.ContentLength) != size || driver.ContentTypeOrDefault(aws.ToString(head.ContentType)) != ct ||
		!maps.Equal(driver.NormalizeMetadata(head.Metadata), md):
		return head, false, ""
	}
	sum, err := parts.MD5(body, size)
	if err != nil {
		return head, false, fmt.Sprintf("the body could not be read again to compare it with the object (%v)", err)
	}
	return head, sameETag(aws.ToString(head.ETag), hex.EncodeToString(sum)), ""
}
