package azure

import (
	"bytes"
	"context"
	"io"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/parts"
	"github.com/objstore-go/objstore/internal/pipeline"
	engine "github.com/objstore-go/objstore/internal/upload"
)

// Put writes body to key. A body no larger than the block size goes in
// one Put Blob request; a larger one is staged as blocks and committed
// with Put Block List (see the package documentation). IfAbsent is sent as
// If-None-Match: * and IfMatch as If-Match, on the Put Blob or on the Put
// Block List: an existing key gives ErrExists (Azure answers 409
// BlobAlreadyExists or 412 ConditionNotMet), a changed or missing one
// ErrPrecondition. A body that fails, or a context cancelled while the
// body is read, returns the error and leaves the object as it was. A
// request whose answer was lost may have been carried out all the same;
// Put then looks at the key before it reports a failure (rule P10 in
// docs/SEMANTICS.md): a write it finds stored is a success, and one it
// cannot tell from another writer's gets an error with no class that
// says it may have been stored.
//
// A body that driver.ReaderAtBody accepts (an *io.SectionReader, the
// body objstore.UploadFile passes) is read with ReadAt: the Put Blob body,
// or each block, is a section of it read as it is sent, Concurrency
// blocks at a time, so that no block is buffered and the SDK can send a
// failed block again on its own.
//
// Progress counts the blocks the service has acknowledged, or for one Put
// Blob the bytes of the body the transport has read.
//
// The returned Attrs carry the ETag and Last-Modified of the response that
// made the object; no further request is sent, except the check after a
// lost answer.
func (s *bucket) Put(ctx context.Context, key string, body io.Reader, r driver.PutRequest) (driver.Attrs, error) {
	w := write{
		op:          "put",
		key:         key,
		full:        key,
		contentType: r.ContentType,
		metadata:    r.Metadata,
		ifAbsent:    r.IfAbsent,
		ifMatch:     r.IfMatch,
		blockSize:   s.opts.BlockSize,
		concurrency: s.opts.Concurrency,
		size:        -1,
		prog:        r.Progress,
	}
	if r.PartSize > 0 {
		w.blockSize = min(r.PartSize, maxBlockSize)
	}
	if r.Concurrency > 0 {
		w.concurrency = min(r.Concurrency, maxConcurrency)
	}
	if ra, size, ok := driver.ReaderAtBody(body); ok {
		w.size = size
		return s.writeAt(ctx, w, ra)
	}
	if l, ok := body.(interface{ Len() int }); ok {
		w.size = int64(l.Len())
	}
	return s.write(ctx, w, body)
}

// write is one upload, from Put or from a stream copy.
type write struct {
	op, key, full string // key is the caller's, for errors
	contentType   string
	metadata      map[string]string // normalized
	ifAbsent      bool
	ifMatch       string
	blockSize     int64
	concurrency   int
	size          int64 // of the body when known, else -1
	prog          driver.Progress
}

func (w write) cond() cond {
	switch {
	case w.ifAbsent:
		return condIfAbsent
	case w.ifMatch != "":
		return condIfMatch
	}
	return condNone
}

func (w write) accessConditions() *blob.AccessConditions {
	switch {
	case w.ifAbsent:
		return &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: toPtr(azcore.ETagAny)}}
	case w.ifMatch != "":
		return &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: toPtr(azcore.ETag(w.ifMatch))}}
	}
	return nil
}

func (w write) headers() *blob.HTTPHeaders {
	return &blob.HTTPHeaders{BlobContentType: toPtr(w.contentType)}
}

// plan returns the upload engine's plan for w, and the largest body sent
// with one Put Blob: a block. A body whose size is known gets blocks
// large enough from the start.
func (w write) plan() (engine.Plan, int64) {
	if w.size >= 0 {
		w.blockSize = max(w.blockSize, ceilDiv(w.size, int64(blockLimit)))
	}
	// The block buffers are pooled, as they were before the engine.
	return engine.Plan{Limits: limits(), PartSize: w.blockSize, Concurrency: w.concurrency, Size: w.size, Pooled: true}, w.blockSize
}

// write reads body and stores it: with one Put Blob when it ends within
// the block size, else as blocks staged Concurrency at a time and
// committed with Put Block List. Memory is at most Concurrency buffers of
// the current block size. On any failure, the blocks in flight are
// cancelled, the block list is never committed, and the object stays as
// it was.
func (s *bucket) write(ctx context.Context, w write, body io.Reader) (driver.Attrs, error) {
	t := s.blockTarget(ctx, w)
	plan, threshold := w.plan()
	up, err := engine.Start(ctx, body, plan, threshold)
	if err != nil {
		return driver.Attrs{}, t.Failed(err)
	}
	defer up.Close()
	if b := up.Bytes(); b != nil {
		w.prog.Start(int64(len(b)))
		return s.putBlob(ctx, w, bytes.NewReader(b), int64(len(b)))
	}
	w.prog.Start(w.size)
	_, err = up.Run(t, w.prog.Add)
	if maxLiveHook != nil {
		maxLiveHook(up.Stats().MaxBuffers)
	}
	if err != nil {
		return driver.Attrs{}, err
	}
	return t.a, nil
}

// writeAt stores the w.size bytes of body, read with ReadAt: with one Put
// Blob when they fit in a block, else as blocks, each a section of body
// read as it is sent (see engine.Sections).
func (s *bucket) writeAt(ctx context.Context, w write, r io.ReaderAt) (driver.Attrs, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	body := parts.NewBody(r, cancel)
	plan, threshold := w.plan()
	w.prog.Start(w.size)
	if w.size > threshold {
		t := s.blockTarget(ctx, w)
		if err := engine.Sections(ctx, t, body, w.size, plan, w.prog.Add); err != nil {
			return driver.Attrs{}, err
		}
		return t.a, nil
	}
	a, err := s.putBlob(ctx, w, io.NewSectionReader(body, 0, w.size), w.size)
	if err != nil {
		return driver.Attrs{}, body.Failed(Scheme, w.op, w.key, err)
	}
	return a, nil
}

// putBlob stores the size bytes of body with one Put Blob request. w.prog
// gets the bytes the transport reads from body.
func (s *bucket) putBlob(ctx context.Context, w write, body io.ReadSeeker, size int64) (driver.Attrs, error) {
	// A context cancelled while the body was read must not write.
	if err := ctx.Err(); err != nil {
		return driver.Attrs{}, failKind(w.op, w.key, nil, err)
	}
	tctx, answers := pipeline.TrackAnswers(ctx)
	resp, err := s.blob(w.full).Upload(tctx, &parts.Sent{R: body, Prog: w.prog}, &blockblob.UploadOptions{
		HTTPHeaders:      w.headers(),
		Metadata:         metadataIn(w.metadata),
		AccessConditions: w.accessConditions(),
	})
	if err != nil {
		failed := s.fail(w.op, w.key, err, w.cond())
		if answers.Lost() {
			return s.settleBlob(ctx, w, body, size, err, failed)
		}
		return driver.Attrs{}, failed
	}
	return w.attrs(size, resp.ETag, resp.LastModified, resp.Date), nil
}

// attrs returns what a write made, from its response: Put Blob and Put
// Block List both return Last-Modified; Date stands in if one does not.
func (w write) attrs(size int64, etag *azcore.ETag, lastModified, date *time.Time) driver.Attrs {
	mod := lastModified
	if mod == nil {
		mod = date
	}
	return driver.Attrs{
		Key:         w.key,
		Size:        size,
		ETag:        etagString(etag),
		ModTime:     timeOf(mod),
		ContentType: w.contentType,
		Metadata:    driver.NormalizeMetadata(w.metadata),
	}
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
