package s3

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/ctxio"
	"github.com/objstore-go/objstore/internal/parts"
)

// abortTimeout bounds the AbortMultipartUpload sent after a failure, on a
// context of its own since the caller's may be the reason for it.
const abortTimeout = 30 * time.Second

// uploadPlan is the shape of one multipart upload.
type uploadPlan struct {
	partSize  int64 // the size of the first parts
	group     int   // parts of each size: the size doubles every group parts
	conc      int   // parts in flight, and part buffers held
	threshold int64 // the largest body sent with one PutObject
}

// plan returns the upload plan of a put with options o.
func (s *bucket) plan(o *objstore.PutOptions) uploadPlan {
	p := o.PartSize
	if p == 0 {
		p = s.opts.PartSize
	}
	p = min(max(p, minPartSize), maxPartSize)
	c := o.Concurrency
	if c == 0 {
		c = s.opts.Concurrency
	}
	t := s.opts.MultipartThreshold
	if t == 0 {
		t = p
	}
	return uploadPlan{partSize: p, group: growthGroup(p, maxParts), conc: c, threshold: t}
}

// size returns the size of part n, counted from 1.
func (p *uploadPlan) size(n int) int64 { return partSizeAt(p.partSize, p.group, n) }

// partSizeAt returns the size of part n of an upload whose part size
// starts at p and doubles every g parts, up to maxPartSize.
func partSizeAt(p int64, g, n int) int64 {
	shift := (n - 1) / g
	if shift >= 32 || p > maxPartSize>>shift {
		return maxPartSize
	}
	return p << shift
}

// capacity returns how many bytes parts parts hold, starting at p and
// doubling every g parts, or at least maxObjectSize.
func capacity(p int64, g, parts int) int64 {
	var total int64
	for n := 1; n <= parts && total < maxObjectSize; n += g {
		total += int64(min(g, parts-n+1)) * partSizeAt(p, g, n)
	}
	return total
}

// growthGroup returns the largest number of parts g such that parts parts,
// starting at p and doubling every g, hold a 5 TiB object: the part size
// stays p for as long as it can, and memory with it. It returns 1 when no
// g does, which only a lowered maxParts makes possible.
func growthGroup(p int64, parts int) int {
	if capacity(p, parts, parts) >= maxObjectSize {
		return parts
	}
	lo, hi := 1, parts
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if capacity(p, mid, parts) >= maxObjectSize {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// putMultipart writes a body as a multipart upload whose parts send
// uploads, and aborts the upload on any failure. send returns the
// completed parts in order, and the size of the body.
func (s *bucket) putMultipart(ctx context.Context, key, full string, o *objstore.PutOptions,
	send func(ctx context.Context, up *upload) ([]types.CompletedPart, int64, error)) (driver.Attrs, error) {
	if err := s.precheck(ctx, key, full, o); err != nil {
		return driver.Attrs{}, err
	}
	ct := driver.ContentTypeOrDefault(o.ContentType)
	md := driver.NormalizeMetadata(o.Metadata)
	created, err := s.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{
		Bucket:      &s.bucket,
		Key:         &full,
		ContentType: &ct,
		Metadata:    md,
	}, s.callOpts...)
	if err != nil {
		return driver.Attrs{}, s.fail(ctx, "put", key, err, condNone)
	}
	up := &upload{s: s, op: "put", key: key, full: full, id: aws.ToString(created.UploadId), contentType: ct, metadata: md}
	parts, size, err := send(ctx, up)
	if err != nil {
		return driver.Attrs{}, up.abort(ctx, err)
	}
	etag, mod, err := up.commit(ctx, parts, o.IfAbsent, o.IfMatch)
	if err != nil {
		return driver.Attrs{}, err
	}
	return driver.Attrs{
		Key:         key,
		Size:        size,
		ETag:        driver.QuoteETag(etag),
		ModTime:     mod,
		ContentType: ct,
		Metadata:    md,
	}, nil
}

// precheck fails a conditional multipart put early, with one HeadObject,
// when its condition already does not hold. It decides nothing: the
// condition goes on CompleteMultipartUpload too.
func (s *bucket) precheck(ctx context.Context, key, full string, o *objstore.PutOptions) error {
	if !o.IfAbsent && o.IfMatch == "" {
		return nil
	}
	_, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: &full, IfMatch: stringOrNil(o.IfMatch)}, s.callOpts...)
	switch {
	case err == nil && o.IfAbsent:
		return &driver.Error{Kind: objstore.ErrExists, Err: errExists}
	case err == nil:
		return nil
	}
	err = s.fail(ctx, "put", key, err, putCond(o))
	if o.IfAbsent && errors.Is(err, objstore.ErrNotFound) {
		return nil
	}
	return err
}

var errExists = errors.New("the key exists and IfAbsent was set")

// upload is one multipart upload in progress.
type upload struct {
	s    *bucket
	op   string // "put" or "copy"
	key  string // the caller's key, for errors
	full string
	id   string
	// The object's ContentType and normalized Metadata, which tell it
	// from another writer's (see settle).
	contentType string
	metadata    map[string]string
}

// part is one part read and waiting to be sent.
type part struct {
	n   int32
	buf []byte
}

// errTooLarge reports a body that does not fit in maxParts parts.
type errTooLarge struct{ parts int }

func (e errTooLarge) Error() string {
	return fmt.Sprintf("the body is longer than %d parts can hold; S3 objects are at most 5 TiB; nothing was stored", e.parts)
}

// sendParts uploads first and then the rest of body as parts, at most
// plan.conc at once, and returns the completed parts in order with the
// total size. It holds at most plan.conc part buffers: the reading loop
// waits for a free one before it reads the next part. first becomes the
// first part's buffer when it is large enough. Each part S3 acknowledges
// is added to prog.
func (u *upload) sendParts(ctx context.Context, first []byte, body io.Reader, plan *uploadPlan, prog driver.Progress) ([]types.CompletedPart, int64, error) {
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	free := make(chan []byte, plan.conc)
	made := 0
	if p1 := plan.size(1); int64(cap(first)) >= p1 {
		// first and the carry below share memory, but the carry starts
		// at p1, where this buffer ends.
		free <- first[:p1:p1]
		made = 1
	}
	// buffer returns a buffer of n bytes: a free one, a new one while
	// fewer than plan.conc exist, or, waiting, the next one a part frees.
	buffer := func(n int64) ([]byte, error) {
		for {
			var b []byte
			select {
			case b = <-free:
			default:
				if made < plan.conc {
					made++
					return make([]byte, n), nil
				}
				select {
				case b = <-free:
				case <-pctx.Done():
					return nil, context.Cause(pctx)
				}
			}
			if int64(cap(b)) >= n {
				return b[:n], nil
			}
			made-- // the part size grew: let the smaller buffer go
		}
	}

	var (
		mu   sync.Mutex
		done []types.CompletedPart
		wg   sync.WaitGroup
	)
	work := make(chan part)
	for range plan.conc {
		wg.Go(func() {
			for p := range work {
				if pctx.Err() == nil {
					etag, err := u.sendPart(pctx, p)
					if err != nil {
						cancel(err)
					} else {
						mu.Lock()
						done = append(done, types.CompletedPart{ETag: etag, PartNumber: aws.Int32(p.n)})
						mu.Unlock()
						prog.Add(int64(len(p.buf)))
					}
				}
				free <- p.buf
			}
		})
	}

	var (
		size    int64
		readErr error
		carry   = first // bytes read and not yet in a part
	)
loop:
	for n := 1; ; n++ {
		if n > maxParts {
			if len(carry) > 0 || !atEOF(body) {
				readErr = errTooLarge{maxParts}
			}
			break
		}
		want := plan.size(n)
		buf, err := buffer(want)
		if err != nil {
			break // a part failed, or ctx is done: context.Cause(pctx) says which
		}
		m := copy(buf, carry)
		carry = carry[m:]
		k, err := io.ReadFull(body, buf[m:])
		filled := m + k
		end := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !end {
			readErr = err
			free <- buf
			break
		}
		if filled == 0 {
			free <- buf
			break
		}
		select {
		case work <- part{n: int32(n), buf: buf[:filled]}:
			size += int64(filled)
		case <-pctx.Done():
			free <- buf
			break loop
		}
		if end {
			break
		}
	}
	close(work)
	wg.Wait()

	switch {
	case readErr != nil:
		kind := error(nil)
		if errors.As(readErr, new(errTooLarge)) {
			kind = objstore.ErrInvalidArgument
		}
		return nil, 0, &driver.Error{Kind: kind, Err: readErr}
	case context.Cause(pctx) != nil:
		return nil, 0, u.s.fail(ctx, u.op, u.key, context.Cause(pctx), condNone)
	}
	slices.SortFunc(done, func(a, b types.CompletedPart) int { return cmp.Compare(*a.PartNumber, *b.PartNumber) })
	return done, size, nil
}

// sendPartsAt uploads the size bytes of body as parts of partSize bytes,
// conc at a time, and returns the completed parts in order with the size.
// Each part's body is a section of body, read with ReadAt as it is sent:
// no part is buffered, and the SDK can rewind a failed part and send it
// again on its own. Each part S3 acknowledges is added to prog.
func (u *upload) sendPartsAt(ctx context.Context, body *parts.Body, size, partSize int64, conc int, prog driver.Progress) ([]types.CompletedPart, int64, error) {
	n := int((size + partSize - 1) / partSize)
	completed := make([]types.CompletedPart, n)
	err := parts.Each(ctx, n, conc, func(ctx context.Context, i int) error {
		off := int64(i) * partSize
		length := min(partSize, size-off)
		out, err := u.s.client.UploadPart(ctx, &awss3.UploadPartInput{
			Bucket:        &u.s.bucket,
			Key:           &u.full,
			UploadId:      &u.id,
			PartNumber:    aws.Int32(int32(i + 1)),
			Body:          &ctxio.ReadSeeker{Ctx: ctx, R: io.NewSectionReader(body, off, length)},
			ContentLength: aws.Int64(length),
		}, u.s.callOpts...)
		if err != nil {
			return err
		}
		completed[i] = types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))}
		prog.Add(length)
		return nil
	})
	if err != nil {
		return nil, 0, body.Failed(Scheme, u.op, u.key, u.s.fail(ctx, u.op, u.key, err, condNone))
	}
	return completed, size, nil
}

// atEOF reports whether r has nothing more to read.
func atEOF(r io.Reader) bool {
	var b [1]byte
	n, err := io.ReadFull(r, b[:])
	return n == 0 && err == io.EOF
}

// sendPart uploads one part and returns its ETag.
func (u *upload) sendPart(ctx context.Context, p part) (*string, error) {
	out, err := u.s.client.UploadPart(ctx, &awss3.UploadPartInput{
		Bucket:        &u.s.bucket,
		Key:           &u.full,
		UploadId:      &u.id,
		PartNumber:    aws.Int32(p.n),
		Body:          &ctxio.Bytes{Ctx: ctx, B: p.buf},
		ContentLength: aws.Int64(int64(len(p.buf))),
	}, u.s.callOpts...)
	if err != nil {
		return nil, err
	}
	return out.ETag, nil
}

// abort aborts the upload after cause, the error it returns. It runs on a
// context of its own, bounded by abortTimeout, that keeps ctx's values but
// not its cancellation: a cancelled put must still abort. It is an
// operation of its own in the pipeline too, so that the attempts the
// failed operation reports are those of the request that failed, not the
// abort's. An abort that fails is reported with cause; the upload's parts
// then stay stored until a lifecycle rule removes them.
func (u *upload) abort(ctx context.Context, cause error) error {
	if err := u.abortUpload(ctx); err != nil {
		return u.abortFailed(cause, err)
	}
	return cause
}

// abortFailed returns cause, an upload's failure, with err, the failure of
// the abort that followed it.
func (u *upload) abortFailed(cause, err error) error {
	var oe *objstore.Error
	if errors.As(cause, &oe) {
		e := *oe
		e.Err = errors.Join(e.Err, fmt.Errorf("aborting multipart upload %s also failed: %w", u.id, err))
		return &e
	}
	return errors.Join(cause, err)
}

// abortUpload sends the AbortMultipartUpload, on a context and an
// operation of its own as abort says, and returns the SDK's error.
func (u *upload) abortUpload(ctx context.Context) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	actx, end := u.s.pipe.Begin(actx, "abort", u.key)
	_, err := u.s.client.AbortMultipartUpload(actx, &awss3.AbortMultipartUploadInput{
		Bucket:   &u.s.bucket,
		Key:      &u.full,
		UploadId: &u.id,
	}, u.s.callOpts...)
	end(err)
	return err
}
