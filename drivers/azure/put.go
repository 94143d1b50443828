package azure

import (
	"bytes"
	"context"
	"io"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/ctxio"
	"github.com/objstore-go/objstore/internal/parts"
	"github.com/objstore-go/objstore/internal/pipeline"
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
		size:        r.Size,
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
	} else {
		w.size = -1
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

// smallBuffer is the first read of every write: most bodies end within
// it, and a small body never costs a block-sized buffer.
const smallBuffer = 64 << 10

// write reads body and stores it: with one Put Blob when it ends within
// the block size, else as blocks.
func (s *bucket) write(ctx context.Context, w write, body io.Reader) (driver.Attrs, error) {
	if w.size > int64(maxBlocks)*maxBlockSize {
		return driver.Attrs{}, failKind(w.op, w.key, objstore.ErrUnsupported, errTooLarge(w.size))
	}
	if w.size >= 0 {
		// A known size needs no growth: pick blocks that fit it into the
		// block limit from the start.
		w.blockSize = max(w.blockSize, ceilDiv(w.size, maxBlocks))
	}
	r := &ctxio.Reader{Ctx: ctx, R: body}
	first := getBuffer(min(int64(smallBuffer), w.blockSize))
	n, eof, err := fill(r, first)
	if err != nil {
		putBuffer(first)
		return driver.Attrs{}, failKind(w.op, w.key, nil, err)
	}
	if !eof && int64(len(first)) < w.blockSize {
		// Not done: move to a block-sized buffer and read on.
		buf := getBuffer(w.blockSize)
		copy(buf, first[:n])
		putBuffer(first)
		first = buf
		m, e, err := fill(r, first[n:])
		if err != nil {
			putBuffer(first)
			return driver.Attrs{}, failKind(w.op, w.key, nil, err)
		}
		n, eof = n+m, e
	}
	if !eof {
		// The buffer is full; the body may end exactly here.
		var one [1]byte
		m, _, err := fill(r, one[:])
		if err != nil {
			putBuffer(first)
			return driver.Attrs{}, failKind(w.op, w.key, nil, err)
		}
		if m == 1 {
			w.prog.Start(w.size)
			return s.writeBlocks(ctx, w, first, &prefixReader{b: one[0], r: r})
		}
	}
	defer putBuffer(first)
	w.prog.Start(int64(n))
	return s.putBlob(ctx, w, bytes.NewReader(first[:n]), int64(n))
}

// writeAt stores the w.size bytes of body, read with ReadAt: with one Put
// Blob when they fit in a block, else as blocks.
func (s *bucket) writeAt(ctx context.Context, w write, r io.ReaderAt) (driver.Attrs, error) {
	if w.size > int64(maxBlocks)*maxBlockSize {
		return driver.Attrs{}, failKind(w.op, w.key, objstore.ErrUnsupported, errTooLarge(w.size))
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	body := parts.NewBody(r, cancel)
	w.blockSize = max(w.blockSize, ceilDiv(w.size, maxBlocks))
	w.prog.Start(w.size)
	if w.size > w.blockSize {
		return s.writeBlocksAt(ctx, w, body)
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

// prefixReader serves one byte, then r.
type prefixReader struct {
	b    byte
	done bool
	r    io.Reader
}

func (p *prefixReader) Read(buf []byte) (int, error) {
	if !p.done && len(buf) > 0 {
		buf[0] = p.b
		p.done = true
		return 1, nil
	}
	return p.r.Read(buf)
}

// fill reads into buf until it is full or the body ends. eof reports the
// end of the body (io.EOF, exactly); err is any other failure of the body.
func fill(r io.Reader, buf []byte) (n int, eof bool, err error) {
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		switch {
		case err == io.EOF:
			return n, true, nil
		case err != nil:
			return n, false, err
		}
	}
	return n, false, nil
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
