package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/pipeline"
)

// Copy copies the object at src to dst, with its bytes, ContentType and
// Metadata, by the store's CopyStrategy. Either way:
//
//   - a missing src gives ErrNotFound, and dst is not touched;
//   - IfMatch is checked against src's ETag (ErrPrecondition), and the copy
//     is pinned to the version that matched;
//   - IfAbsent makes the write to dst conditional on the server
//     (If-None-Match: *), so that of racing copies one wins and the others
//     get ErrExists.
//
// Progress gets (0, size) once src's size is known, then the blocks
// staged (stream) or the x-ms-copy-progress of each poll of a pending
// server-side copy, and (size, size) when the copy is done.
//
// The returned Attrs are dst's, from the responses; no extra request is
// sent for them.
func (s *bucket) Copy(ctx context.Context, dst, src string, r driver.CopyRequest) (driver.Attrs, error) {
	c := copyJob{dst: dst, src: src, fullDst: dst, fullSrc: src, prog: r.Progress}
	c.IfAbsent, c.IfMatch = r.IfAbsent, r.IfMatch
	return s.copyBy(ctx, c)
}

// copyBy copies by the store's CopyStrategy.
func (s *bucket) copyBy(ctx context.Context, c copyJob) (driver.Attrs, error) {
	switch s.opts.Copy {
	case CopyStream:
		return s.copyStream(ctx, c)
	case CopyServer:
		return s.copyServer(ctx, c)
	}
	if !s.serverCopyRefused.Load() {
		a, err := s.copyServer(ctx, c)
		if !refused(err) {
			return a, err
		}
		s.serverCopyRefused.Store(true)
	}
	return s.copyStream(ctx, c)
}

type copyJob struct {
	objstore.CopyOptions
	dst, src, fullDst, fullSrc string
	prog                       driver.Progress
}

// copyStream downloads src and uploads it to dst as it arrives, in
// blocks, with memory bounded like Put's. The download is a Get of the
// store's own (s.store), so it is checked and resumes as any Get does:
// pinned to the source's ETag with If-Match, so dst gets exactly one
// version of src, within one retry budget of MaxRetries+1 attempts.
func (s *bucket) copyStream(ctx context.Context, c copyJob) (driver.Attrs, error) {
	src := strings.TrimPrefix(c.fullSrc, s.prefix)
	body, err := s.store.Get(ctx, src, &objstore.GetOptions{IfMatch: c.IfMatch})
	if err != nil {
		return driver.Attrs{}, fmt.Errorf("reading the source: %w", err)
	}
	defer body.Close()
	srcAttrs := driver.Attrs(body.Attrs)
	w := write{
		op:          "copy",
		key:         c.dst,
		full:        c.fullDst,
		contentType: srcAttrs.ContentType,
		metadata:    srcAttrs.Metadata,
		ifAbsent:    c.IfAbsent,
		blockSize:   s.opts.BlockSize,
		concurrency: s.opts.Concurrency,
		size:        srcAttrs.Size,
		prog:        c.prog,
	}
	a, err := s.write(ctx, w, &exactReader{r: sourceReader{body}, n: srcAttrs.Size})
	if err != nil {
		return driver.Attrs{}, err
	}
	return a, nil
}

// exactReader fails a source that ends before its Content-Length, so that
// a truncated download is never committed as the copy.
type exactReader struct {
	r io.Reader
	n int64 // bytes still expected
}

var errShortSource = errors.New("the source ended before its Content-Length")

func (e *exactReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.n {
		p = p[:e.n]
	}
	n, err := e.r.Read(p)
	e.n -= int64(n)
	if err == io.EOF && e.n > 0 {
		err = errShortSource
	}
	if err == nil && e.n == 0 {
		err = io.EOF
	}
	return n, err
}

// pollStart and pollMax bound the backoff between polls of a pending
// server-side copy.
var (
	pollStart = 100 * time.Millisecond
	pollMax   = 5 * time.Second
)

// copyServer asks the service to copy with Copy Blob. It reads src's
// properties first: they give the ETag the copy is pinned to
// (x-ms-source-if-match) and the attributes Copy returns. A copy the
// service reports pending is polled with backoff until it succeeds,
// fails, or ctx is done (then it is aborted).
func (s *bucket) copyServer(ctx context.Context, c copyJob) (driver.Attrs, error) {
	srcBlob, dstBlob := s.blob(c.fullSrc), s.blob(c.fullDst)
	for attempt := 1; ; attempt++ {
		p, err := srcBlob.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: accessConditions(c.IfMatch, "")})
		if err != nil {
			return driver.Attrs{}, s.fail("copy", c.src, err, condNone)
		}
		a := propsAttrs(c.dst, p)
		c.prog.Start(a.Size)
		source, err := s.copySource(srcBlob, c.fullSrc)
		if err != nil {
			return driver.Attrs{}, failKind("copy", c.src, objstore.ErrUnsupported, err)
		}
		o := &blob.StartCopyFromURLOptions{SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfMatch: p.ETag}}
		if c.IfAbsent {
			o.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: toPtr(azcore.ETagAny)}}
		}
		tctx, answers := pipeline.TrackAnswers(ctx)
		resp, err := dstBlob.StartCopyFromURL(tctx, source, o)
		if err != nil {
			srcChanged, failed := s.copyFailure(ctx, srcBlob, c, p.ETag, err)
			if srcChanged && c.IfMatch == "" && attempt < 3 {
				continue // src was overwritten since its properties were read
			}
			if answers.Lost() && errors.Is(failed, objstore.ErrExists) {
				failed = s.settleCopy(ctx, dstBlob, c, source, err, failed)
			}
			return driver.Attrs{}, failed
		}
		etag, mod := resp.ETag, resp.LastModified
		if st := deref(resp.CopyStatus); st != blob.CopyStatusTypeSuccess {
			if etag, mod, err = s.waitCopy(ctx, dstBlob, c.dst, deref(resp.CopyID), st, c.prog); err != nil {
				return driver.Attrs{}, err
			}
		}
		a.ETag, a.ModTime = etagString(etag), timeOf(mod)
		return a, nil
	}
}

// copyFailure classifies a failed Copy Blob. srcChanged reports that the
// source no longer has the ETag the copy was pinned to.
func (s *bucket) copyFailure(ctx context.Context, srcBlob *blockblob.Client, c copyJob, pinned *azcore.ETag, err error) (srcChanged bool, _ error) {
	var re *azcore.ResponseError
	if !errors.As(err, &re) || refused(err) {
		return false, s.fail("copy", c.dst, err, condNone)
	}
	code := bloberror.Code(re.ErrorCode)
	sourceFailed := code == bloberror.SourceConditionNotMet
	if code == bloberror.ConditionNotMet {
		// Azurite (and older service versions) answer both a failed source
		// condition and a failed destination condition with ConditionNotMet.
		// Without IfAbsent only the source had one; with it, src's ETag
		// tells.
		sourceFailed = true
		if c.IfAbsent {
			p, perr := srcBlob.GetProperties(ctx, nil)
			sourceFailed = perr != nil || p.ETag == nil || pinned == nil || *p.ETag != *pinned
		}
	}
	switch {
	case sourceFailed && c.IfMatch != "":
		return true, failKind("copy", c.src, objstore.ErrPrecondition, err)
	case sourceFailed:
		return true, s.fail("copy", c.src, err, condNone)
	case re.StatusCode == http.StatusNotFound && code != bloberror.ContainerNotFound:
		// BlobNotFound or CannotVerifyCopySource: src went away.
		return false, failKind("copy", c.src, objstore.ErrNotFound, err)
	}
	return false, s.fail("copy", c.dst, err, condFor(c.IfAbsent))
}

func condFor(ifAbsent bool) cond {
	if ifAbsent {
		return condIfAbsent
	}
	return condNone
}

// refused reports whether err is the service declining a server-side copy
// (the credential cannot authorize the source, or the feature is not
// available), after which CopyAuto streams instead.
func refused(err error) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	switch re.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotImplemented:
		return true
	}
	switch bloberror.Code(re.ErrorCode) {
	case bloberror.CannotVerifyCopySource:
		return re.StatusCode != http.StatusNotFound
	case bloberror.CopyAcrossAccountsNotSupported, bloberror.FeatureVersionMismatch, bloberror.UnsupportedHeader, bloberror.InvalidSourceBlobURL:
		return true
	}
	return false
}

// copySAS is how long the SAS that authorizes a copy's source is valid.
// The copy must finish within it; a same-account copy is usually
// immediate.
const copySAS = time.Hour

// copySource returns the URL the service reads the source from, with what
// authorizes the read: a one-hour read-only SAS signed with the account
// key, the store's SAS, or nothing (a token credential, or a client from
// New that cannot sign, relies on the service accepting the destination's
// authorization for a source in the same account).
func (s *bucket) copySource(srcBlob *blockblob.Client, fullSrc string) (string, error) {
	start, expiry := time.Now().Add(-15*time.Minute).UTC(), time.Now().Add(copySAS).UTC()
	u := srcBlob.URL()
	join := func(q string) string {
		if strings.Contains(u, "?") {
			return u + "&" + q
		}
		return u + "?" + q
	}
	switch {
	case s.key != nil:
		qp, err := sas.BlobSignatureValues{
			StartTime:     start,
			ExpiryTime:    expiry,
			Permissions:   (&sas.BlobPermissions{Read: true}).String(),
			ContainerName: s.container,
			BlobName:      fullSrc,
		}.SignWithSharedKey(s.key)
		if err != nil {
			return "", fmt.Errorf("signing a SAS for the copy source: %w", err)
		}
		return join(qp.Encode()), nil
	case s.sas != nil:
		return join(s.sas.query), nil
	}
	if signed, err := srcBlob.GetSASURL(sas.BlobPermissions{Read: true}, expiry, &blob.GetSASURLOptions{StartTime: &start}); err == nil {
		return signed, nil
	}
	return u, nil
}

// waitCopy polls dst until the copy copyID is no longer pending, and
// reports the bytes copied that each poll gives (x-ms-copy-progress) to
// prog. On success it returns dst's ETag and Last-Modified. When ctx is
// done it aborts the copy.
func (s *bucket) waitCopy(ctx context.Context, dstBlob *blockblob.Client, dst, copyID string, status blob.CopyStatusType, prog driver.Progress) (*azcore.ETag, *time.Time, error) {
	// abort stops the pending copy when ctx ends, whether it ends between
	// polls or during one.
	abort := func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_, _ = dstBlob.AbortCopyFromURL(actx, copyID, nil)
		cancel()
	}
	delay := pollStart
	for {
		switch status {
		case blob.CopyStatusTypePending:
		case blob.CopyStatusTypeSuccess:
			// unreachable: the loop returns on success
		default:
			return nil, nil, failKind("copy", dst, nil, fmt.Errorf("the server-side copy ended with status %q", status))
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			abort()
			return nil, nil, failKind("copy", dst, nil, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, pollMax)
		p, err := dstBlob.GetProperties(ctx, nil)
		if err != nil {
			if ctx.Err() != nil {
				abort()
			}
			return nil, nil, s.fail("copy", dst, err, condNone)
		}
		if deref(p.CopyID) != copyID {
			return nil, nil, failKind("copy", dst, nil, errors.New("dst was overwritten while the server-side copy was pending"))
		}
		status = deref(p.CopyStatus)
		if copied, ok := copyProgress(deref(p.CopyProgress)); ok {
			prog.Reached(copied)
		}
		if status == blob.CopyStatusTypeSuccess {
			return p.ETag, p.LastModified, nil
		}
		if status != blob.CopyStatusTypePending {
			return nil, nil, failKind("copy", dst, nil, fmt.Errorf("the server-side copy ended with status %q: %s", status, deref(p.CopyStatusDescription)))
		}
	}
}

// copyProgress parses the bytes copied from x-ms-copy-progress,
// "copied/total".
func copyProgress(v string) (int64, bool) {
	copied, _, ok := strings.Cut(v, "/")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(copied, 10, 64)
	return n, err == nil && n >= 0
}

// sourceReader says that a failed read of a stream copy's source was that.
type sourceReader struct{ r io.Reader }

func (s sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("reading the source: %w", err)
	}
	return n, err
}
