package gocloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"

	"github.com/objstore-go/objstore"
	objdriver "github.com/objstore-go/objstore/driver"
)

// NewBucket returns a *blob.Bucket that serves s, so that code written
// against gocloud.dev/blob can use any objstore driver. Closing the bucket
// closes s.
//
// What gocloud asks and objstore's contract forbids is refused, never
// approximated: keys objstore's rule K1 rejects, metadata keys outside rule
// M1, CacheControl, ContentDisposition, ContentEncoding and ContentLanguage
// (which objstore does not store) and a list Delimiter other than "/" give
// errors of code InvalidArgument or Unimplemented. SignedURL is
// Unimplemented. Bucket.As reaches the objstore.Store (pass an
// *objstore.Store), and ErrorAs reaches the *objstore.Error and the SDK's
// error under it.
func NewBucket(s objstore.Store) *blob.Bucket { return blob.NewBucket(&bucket{s: s}) }

// bucket is the driver.Bucket over an objstore.Store.
type bucket struct {
	s objstore.Store
}

var _ driver.Bucket = (*bucket)(nil)

// errUnimplemented carries gocloud's Unimplemented code.
type errUnimplemented struct{ what string }

func (e errUnimplemented) Error() string { return "objstore: " + e.what + " is not supported" }

// ErrorCode classifies objstore's errors in gocloud's codes.
func (b *bucket) ErrorCode(err error) gcerrors.ErrorCode {
	var unimpl errUnimplemented
	switch {
	case errors.As(err, &unimpl), errors.Is(err, objstore.ErrUnsupported):
		return gcerrors.Unimplemented
	case errors.Is(err, context.Canceled):
		return gcerrors.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return gcerrors.DeadlineExceeded
	case errors.Is(err, objstore.ErrNotFound), errors.Is(err, objstore.ErrBucketNotFound):
		return gcerrors.NotFound
	case errors.Is(err, objstore.ErrExists):
		// What gocloud's own drivers report for a lost IfNotExist write.
		return gcerrors.FailedPrecondition
	case errors.Is(err, objstore.ErrPrecondition), errors.Is(err, objstore.ErrNotModified):
		return gcerrors.FailedPrecondition
	case errors.Is(err, objstore.ErrInvalidArgument), errors.Is(err, objstore.ErrInvalidRange):
		return gcerrors.InvalidArgument
	case errors.Is(err, objstore.ErrPermission), errors.Is(err, objstore.ErrUnauthenticated):
		return gcerrors.PermissionDenied
	case errors.Is(err, objstore.ErrThrottled):
		return gcerrors.ResourceExhausted
	}
	return gcerrors.Unknown
}

// As reaches the objstore.Store: pass an *objstore.Store.
func (b *bucket) As(i any) bool {
	p, ok := i.(*objstore.Store)
	if ok {
		*p = b.s
	}
	return ok
}

// ErrorAs is errors.As: it reaches *objstore.Error and the SDK's errors.
func (b *bucket) ErrorAs(err error, i any) bool { return errors.As(err, i) }

// Attributes is Stat.
func (b *bucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	a, err := b.s.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	return &driver.Attributes{
		ContentType: a.ContentType,
		Metadata:    a.Metadata,
		ModTime:     a.ModTime,
		Size:        a.Size,
		ETag:        a.ETag,
	}, nil
}

// ListPaged lists one page. The page token is the last key of the page
// before, passed on as StartAfter; a common prefix that comes back first
// because its keys sort after its own name is skipped. Delimiters other
// than "" and "/" are Unimplemented: objstore lists with no other.
func (b *bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	if opts.Delimiter != "" && opts.Delimiter != "/" {
		return nil, errUnimplemented{fmt.Sprintf("the list delimiter %q (objstore lists with \"\" or \"/\")", opts.Delimiter)}
	}
	if opts.BeforeList != nil {
		if err := opts.BeforeList(func(any) bool { return false }); err != nil {
			return nil, err
		}
	}
	size := opts.PageSize
	if size <= 0 {
		size = objdriver.DefaultPageSize
	}
	last := string(opts.PageToken)
	lo := &objstore.ListOptions{Prefix: opts.Prefix, Delimiter: opts.Delimiter, StartAfter: last, PageSize: min(size+1, objdriver.DefaultPageSize)}
	page := &driver.ListPage{}
	for e, err := range b.s.List(ctx, lo) {
		if err != nil {
			return nil, err
		}
		if e.Key == last {
			continue // the common prefix the last page ended with
		}
		if len(page.Objects) == size {
			page.NextPageToken = []byte(page.Objects[size-1].Key)
			break
		}
		page.Objects = append(page.Objects, &driver.ListObject{Key: e.Key, ModTime: e.ModTime, Size: e.Size, IsDir: e.IsPrefix})
	}
	return page, nil
}

// NewRangeReader is Get with a Range.
func (b *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	if opts.BeforeRead != nil {
		if err := opts.BeforeRead(func(any) bool { return false }); err != nil {
			return nil, err
		}
	}
	if length < 0 {
		length = -1
	}
	r, err := b.s.Get(ctx, key, &objstore.GetOptions{Range: &objstore.Range{Offset: offset, Length: length}})
	if err != nil {
		return nil, err
	}
	return &reader{r: r}, nil
}

type reader struct{ r *objstore.Reader }

func (r *reader) Read(p []byte) (int, error) { return r.r.Read(p) }
func (r *reader) Close() error               { return r.r.Close() }
func (r *reader) As(i any) bool {
	p, ok := i.(**objstore.Reader)
	if ok {
		*p = r.r
	}
	return ok
}
func (r *reader) Attributes() *driver.ReaderAttributes {
	return &driver.ReaderAttributes{ContentType: r.r.Attrs.ContentType, ModTime: r.r.Attrs.ModTime, Size: r.r.Attrs.Size}
}

// NewTypedWriter starts a Put that reads what is written through a pipe.
// Close waits for the Put; a cancelled ctx aborts it, and nothing is
// stored. IfNotExist is PutOptions.IfAbsent.
func (b *bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	var unsupported []string
	for name, v := range map[string]string{"CacheControl": opts.CacheControl, "ContentDisposition": opts.ContentDisposition,
		"ContentEncoding": opts.ContentEncoding, "ContentLanguage": opts.ContentLanguage} {
		if v != "" {
			unsupported = append(unsupported, name)
		}
	}
	if len(unsupported) > 0 {
		return nil, errUnimplemented{"WriterOptions." + strings.Join(unsupported, ", ") + " (objstore stores ContentType and Metadata only)"}
	}
	if opts.BeforeWrite != nil {
		if err := opts.BeforeWrite(func(any) bool { return false }); err != nil {
			return nil, err
		}
	}
	po := &objstore.PutOptions{ContentType: contentType, Metadata: opts.Metadata, IfAbsent: opts.IfNotExist,
		Concurrency: opts.MaxConcurrency}
	if opts.BufferSize > 0 {
		po.PartSize = int64(opts.BufferSize)
	}
	pr, pw := io.Pipe()
	w := &writer{pw: pw, done: make(chan struct{})}
	stop := context.AfterFunc(ctx, func() { pw.CloseWithError(ctx.Err()) })
	go func() {
		defer close(w.done)
		defer stop()
		_, w.err = b.s.Put(ctx, key, pr, po)
		pr.CloseWithError(errPutEnded)
	}()
	return w, nil
}

var errPutEnded = errors.New("objstore: the put has ended")

type writer struct {
	pw   *io.PipeWriter
	done chan struct{}
	err  error
}

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.pw.Write(p)
	if err != nil {
		// The Put ended early: report its error, which says why.
		<-w.done
		if w.err != nil {
			return n, w.err
		}
	}
	return n, err
}

func (w *writer) Close() error {
	w.pw.Close()
	<-w.done
	return w.err
}

// Copy is Store.Copy.
func (b *bucket) Copy(ctx context.Context, dstKey, srcKey string, opts *driver.CopyOptions) error {
	if opts.BeforeCopy != nil {
		if err := opts.BeforeCopy(func(any) bool { return false }); err != nil {
			return err
		}
	}
	_, err := b.s.Copy(ctx, dstKey, srcKey, nil)
	return err
}

// Delete stats the key first, because gocloud reports deleting a missing
// key as NotFound and objstore's Delete does not. The two calls are not
// atomic: a key deleted by someone else in between is deleted silently.
func (b *bucket) Delete(ctx context.Context, key string, opts *driver.DeleteOptions) error {
	if opts.BeforeDelete != nil {
		if err := opts.BeforeDelete(func(any) bool { return false }); err != nil {
			return err
		}
	}
	if _, err := b.s.Stat(ctx, key); err != nil {
		return err
	}
	return b.s.Delete(ctx, key)
}

// SignedURL is Unimplemented: objstore has no signed URLs.
func (b *bucket) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	return "", errUnimplemented{"SignedURL"}
}

// Close closes the Store.
func (b *bucket) Close() error { return b.s.Close() }
