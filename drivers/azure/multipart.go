package azure

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/ctxio"
	"github.com/objstore-go/objstore/internal/parts"
	"github.com/objstore-go/objstore/internal/pipeline"
)

// growEvery is how many blocks an upload of unknown size sends before it
// doubles its block size. With the 8 MiB default, the first 5,000 blocks
// hold 39 GiB and the 50,000 blocks Azure allows hold about 38 TiB.
const growEvery = 5000

// blockSizeAt returns the size of block i (from 0) of an upload whose
// blocks start at base bytes: base for the first growEvery blocks, then
// doubling every growEvery blocks, up to Azure's 4000 MiB.
func blockSizeAt(base int64, i int) int64 {
	shift := i / growEvery
	if shift > 20 || base<<shift > maxBlockSize {
		return maxBlockSize
	}
	return base << shift
}

// capacity returns the most bytes an upload whose blocks start at base can
// hold in maxBlocks blocks.
func capacity(base int64, blocks int) int64 {
	var total int64
	for i := 0; i < blocks; i += growEvery {
		total += blockSizeAt(base, i) * int64(min(growEvery, blocks-i))
	}
	return total
}

func errTooLarge(size int64) error {
	return fmt.Errorf("the body is %d bytes; a block blob holds at most %d blocks of 4000 MiB", size, maxBlocks)
}

var errBlocksLost = errors.New("Put Block List found blocks missing: another upload to the same key committed first, " +
	"and Azure discarded this upload's uncommitted blocks")

// blockUpload is one staged upload in flight. The goroutine that reads the
// body owns ids, live and size; stage goroutines share free, err and the
// context.
type blockUpload struct {
	bb     *blockblob.Client
	ctx    context.Context // cancelled on the first failure
	cancel context.CancelCauseFunc
	prefix [8]byte // random, per upload

	conc    int
	live    int         // buffers allocated, at most conc
	maxLive int         // for tests: the most buffers ever allocated at once
	free    chan []byte // buffers whose block is staged

	ids  []string
	size int64
	wg   sync.WaitGroup
	prog driver.Progress // gets each block staged

	mu        sync.Mutex
	err       error // the first failure
	bodyFault bool  // err came from the body, not from the service
}

// Test hooks: maxLiveHook receives each upload's maxLive, and blockLimit
// stands for Azure's 50,000 blocks.
var (
	maxLiveHook func(int)
	blockLimit  = maxBlocks
)

// writeBlocks stages first and the rest of r as blocks, Concurrency at a
// time, and commits them with Put Block List. Memory is the at most
// Concurrency buffers of the current block size. On any failure, the
// uploads in flight are cancelled, the block list is never committed, and
// the object stays as it was.
func (s *bucket) writeBlocks(ctx context.Context, w write, first []byte, r io.Reader) (driver.Attrs, error) {
	bb := s.blob(w.full)
	if err := s.precheck(ctx, bb, w); err != nil {
		putBuffer(first)
		return driver.Attrs{}, err
	}
	uctx, cancel := context.WithCancelCause(ctx)
	u := &blockUpload{bb: bb, ctx: uctx, cancel: cancel, conc: w.concurrency, free: make(chan []byte, w.concurrency), prog: w.prog}
	defer cancel(nil)
	if _, err := rand.Read(u.prefix[:]); err != nil {
		putBuffer(first)
		return driver.Attrs{}, failKind(w.op, w.key, nil, err)
	}
	body := &ctxio.Reader{Ctx: uctx, R: r}
	u.live, u.maxLive = 1, 1
	u.stage(first, first)
	for {
		// Take a buffer only for a block that has data: peek one byte.
		var one [1]byte
		m, _, err := fill(body, one[:])
		if err != nil {
			u.fail(err, true)
			break
		}
		if m == 0 {
			break // the body ended
		}
		if len(u.ids) == blockLimit {
			u.fail(failKind(w.op, w.key, objstore.ErrUnsupported, fmt.Errorf(
				"the body is longer than the %d bytes that %d blocks hold when they start at %d bytes; "+
					"set PutOptions.PartSize larger, or pass a body whose Len is known", capacity(w.blockSize, blockLimit), blockLimit, w.blockSize)), false)
			break
		}
		buf, err := u.acquire(blockSizeAt(w.blockSize, len(u.ids)))
		if err != nil {
			break // a failure is recorded already
		}
		buf[0] = one[0]
		n, eof, err := fill(body, buf[1:])
		if err != nil {
			u.release(buf)
			u.fail(err, true)
			break
		}
		u.stage(buf, buf[:1+n])
		if eof {
			break
		}
	}
	u.wg.Wait()
	u.drain()
	if maxLiveHook != nil {
		maxLiveHook(u.maxLive)
	}
	if u.err != nil {
		if u.bodyFault || context.Cause(ctx) != nil {
			return driver.Attrs{}, failKind(w.op, w.key, nil, u.err)
		}
		var e *objstore.Error
		var de *driver.Error
		if errors.As(u.err, &e) || errors.As(u.err, &de) {
			return driver.Attrs{}, u.err
		}
		return driver.Attrs{}, s.fail(w.op, w.key, u.err, condNone)
	}
	return s.commitBlocks(ctx, bb, w, u.ids, u.size)
}

// writeBlocksAt stages the w.size bytes of body as blocks of w.blockSize,
// Concurrency at a time, and commits them with Put Block List. Each
// block's body is a section of body, read with ReadAt as it is sent: no
// block is buffered, and the retry policy can rewind a failed block and
// send it again on its own. On any failure, the blocks in flight are
// cancelled, the block list is never committed, and the object stays as
// it was.
func (s *bucket) writeBlocksAt(ctx context.Context, w write, body *parts.Body) (driver.Attrs, error) {
	bb := s.blob(w.full)
	if err := s.precheck(ctx, bb, w); err != nil {
		return driver.Attrs{}, err
	}
	var prefix [8]byte
	if _, err := rand.Read(prefix[:]); err != nil {
		return driver.Attrs{}, failKind(w.op, w.key, nil, err)
	}
	n := int(ceilDiv(w.size, w.blockSize))
	if n > blockLimit {
		return driver.Attrs{}, failKind(w.op, w.key, objstore.ErrUnsupported, errTooLarge(w.size))
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = blockID(prefix, i)
	}
	err := parts.Each(ctx, n, w.concurrency, func(ctx context.Context, i int) error {
		off := int64(i) * w.blockSize
		length := min(w.blockSize, w.size-off)
		_, err := bb.StageBlock(ctx, ids[i], streaming.NopCloser(io.NewSectionReader(body, off, length)), nil)
		if err == nil {
			w.prog.Add(length)
		}
		return err
	})
	switch {
	case err == nil:
	case body.Err() != nil:
		return driver.Attrs{}, failKind(w.op, w.key, nil, body.Err())
	case context.Cause(ctx) != nil:
		return driver.Attrs{}, failKind(w.op, w.key, nil, err)
	default:
		return driver.Attrs{}, s.fail(w.op, w.key, err, condNone)
	}
	return s.commitBlocks(ctx, bb, w, ids, w.size)
}

// commitBlocks commits the staged blocks ids, size bytes in all, with Put
// Block List and the write's conditions. When it fails after one of its
// attempts lost its answer, settleBlocks finds out whether that attempt
// committed the blocks: a success, whatever the resend was answered.
func (s *bucket) commitBlocks(ctx context.Context, bb *blockblob.Client, w write, ids []string, size int64) (driver.Attrs, error) {
	if err := ctx.Err(); err != nil {
		return driver.Attrs{}, failKind(w.op, w.key, nil, err)
	}
	tctx, answers := pipeline.TrackAnswers(ctx)
	resp, err := bb.CommitBlockList(tctx, ids, &blockblob.CommitBlockListOptions{
		HTTPHeaders:      w.headers(),
		Metadata:         metadataIn(w.metadata),
		AccessConditions: w.accessConditions(),
	})
	if err != nil {
		if answers.Lost() {
			return s.settleBlocks(ctx, bb, w, ids, size, err)
		}
		if bloberror.HasCode(err, bloberror.InvalidBlockList) {
			return driver.Attrs{}, s.lostBlocks(ctx, bb, w, err)
		}
		return driver.Attrs{}, s.fail(w.op, w.key, err, w.cond())
	}
	return w.attrs(size, resp.ETag, resp.LastModified, resp.Date), nil
}

// precheck fails a conditional upload before its blocks are sent when the
// condition already fails. The Put Block List still carries the
// condition; this only saves uploading a body the service will refuse.
func (s *bucket) precheck(ctx context.Context, bb *blockblob.Client, w write) error {
	if !w.ifAbsent && w.ifMatch == "" {
		return nil
	}
	_, err := bb.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: accessConditions(w.ifMatch, "")})
	switch {
	case w.ifAbsent && err == nil:
		return failKind(w.op, w.key, objstore.ErrExists, errors.New("the key exists and IfAbsent was set"))
	case w.ifAbsent && classify(err, condNone) == objstore.ErrNotFound:
		return nil
	case err != nil:
		return s.fail(w.op, w.key, err, w.cond())
	}
	return nil
}

// lostBlocks explains an InvalidBlockList from Put Block List. Another
// upload to the same blob committed first, which discards every
// uncommitted block, ours included. For a conditional upload that is the
// condition failing; for an unconditional one, a lost race.
func (s *bucket) lostBlocks(ctx context.Context, bb *blockblob.Client, w write, cause error) error {
	if w.ifAbsent || w.ifMatch != "" {
		if err := s.precheck(ctx, bb, w); err != nil {
			return err
		}
	}
	return failKind(w.op, w.key, nil, fmt.Errorf("%w: %w", errBlocksLost, cause))
}

// acquire returns a buffer of size bytes: a new one while fewer than conc
// exist, else the first one a finished block frees.
func (u *blockUpload) acquire(size int64) ([]byte, error) {
	if u.live < u.conc {
		u.live++
		u.maxLive = max(u.maxLive, u.live)
		return getBuffer(size), nil
	}
	select {
	case b := <-u.free:
		if int64(cap(b)) < size {
			putBuffer(b)
			b = getBuffer(size)
		}
		return b[:size], nil
	case <-u.ctx.Done():
		return nil, context.Cause(u.ctx)
	}
}

func (u *blockUpload) release(buf []byte) { u.free <- buf }

// drain returns the freed buffers to the pool once no block is in flight.
func (u *blockUpload) drain() {
	for {
		select {
		case b := <-u.free:
			putBuffer(b)
		default:
			return
		}
	}
}

// fail records the first failure and stops the upload.
func (u *blockUpload) fail(err error, body bool) {
	u.mu.Lock()
	if u.err == nil {
		u.err, u.bodyFault = err, body
	}
	u.mu.Unlock()
	u.cancel(err)
}

// stage sends data, which lives in buf, as the next block.
func (u *blockUpload) stage(buf, data []byte) {
	id := blockID(u.prefix, len(u.ids))
	u.ids = append(u.ids, id)
	u.size += int64(len(data))
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		_, err := u.bb.StageBlock(u.ctx, id, streaming.NopCloser(bytes.NewReader(data)), nil)
		n := int64(len(data))
		u.release(buf)
		if err != nil {
			u.fail(err, false)
			return
		}
		u.prog.Add(n)
	}()
}

// blockID returns the ID of block i of the upload whose IDs start with
// prefix. Block IDs must all have the same length within a blob: 16
// bytes, base64-encoded to 24 characters.
func blockID(prefix [8]byte, i int) string {
	var raw [16]byte
	copy(raw[:8], prefix[:])
	binary.BigEndian.PutUint64(raw[8:], uint64(i))
	return base64.StdEncoding.EncodeToString(raw[:])
}

// buffers are pooled by size: uploads reuse each other's block buffers.
var pools sync.Map // int64 -> *sync.Pool of *[]byte

func getBuffer(n int64) []byte {
	if p, ok := pools.Load(n); ok {
		if b, ok := p.(*sync.Pool).Get().(*[]byte); ok {
			return (*b)[:n]
		}
	}
	return make([]byte, n)
}

func putBuffer(b []byte) {
	n := int64(cap(b))
	p, _ := pools.LoadOrStore(n, &sync.Pool{})
	b = b[:n]
	p.(*sync.Pool).Put(&b)
}
