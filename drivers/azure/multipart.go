package azure

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/pipeline"
	engine "github.com/objstore-go/objstore/internal/upload"
)

// streamMax is the largest body of unknown size a block upload takes.
// Azure's 50,000 blocks of 4000 MiB (190.7 TiB) hold its largest blob
// only when every block is 4000 MiB; a stream would have to grow its
// blocks, and its memory, after a few dozen of them to reach it. So a
// stream gets what 8 MiB blocks doubling every 5,000 reached before the
// upload engine: 38 TiB. With the engine's growth rule, 8 MiB blocks then
// double every 5,018 blocks (after 39 GiB). A body whose size is known
// (a Len, or a ReaderAt body) may be 190.7 TiB.
const streamMax = 38 << 40

// limits are Azure's bounds on a block upload, for the upload engine.
func limits() engine.Limits {
	return engine.Limits{MinPartSize: 1, MaxPartSize: maxBlockSize, MaxParts: blockLimit, StreamMax: streamMax}
}

// Test hooks: maxLiveHook receives the most block buffers each upload of
// a stream held at once, and blockLimit stands for Azure's 50,000 blocks.
var (
	maxLiveHook func(int)
	blockLimit  = maxBlocks
)

func errTooLarge(size int64) error {
	return fmt.Errorf("the body is %d bytes; a block blob holds at most %d blocks of 4000 MiB", size, maxBlocks)
}

// blockTarget is one staged upload, as the upload engine drives it: the
// blocks are staged with Put Block and committed with Put Block List.
// Nothing is staged before Begin, and nothing needs removing after a
// failure: Azure discards uncommitted blocks (after a week, or when the
// blob is next committed).
type blockTarget struct {
	s      *bucket
	bb     *blockblob.Client
	w      write
	ctx    context.Context // the write's
	prefix [8]byte         // random, per upload
	a      driver.Attrs    // what the commit made
}

func (s *bucket) blockTarget(ctx context.Context, w write) *blockTarget {
	return &blockTarget{s: s, bb: s.blob(w.full), w: w, ctx: ctx}
}

// Begin fails a conditional write early when its condition already does
// not hold (see precheck), and picks the block IDs' random prefix.
func (t *blockTarget) Begin(ctx context.Context) error {
	if err := t.s.precheck(ctx, t.bb, t.w); err != nil {
		return err
	}
	if _, err := rand.Read(t.prefix[:]); err != nil {
		return failKind(t.w.op, t.w.key, nil, err)
	}
	return nil
}

// Part stages block n (from 1) and returns its ID.
func (t *blockTarget) Part(ctx context.Context, n int, body io.ReadSeeker, size int64) (string, error) {
	id := blockID(t.prefix, n-1)
	_, err := t.bb.StageBlock(ctx, id, streaming.NopCloser(body), nil)
	return id, err
}

// Commit commits the blocks (see commitBlocks).
func (t *blockTarget) Commit(ctx context.Context, parts []engine.Part) error {
	ids := make([]string, len(parts))
	var size int64
	for i, p := range parts {
		ids[i] = p.ID
		size += p.Size
	}
	a, err := t.s.commitBlocks(ctx, t.bb, t.w, ids, size)
	t.a = a
	return err
}

// Abort does nothing: see blockTarget.
func (t *blockTarget) Abort(context.Context) error { return nil }

// Failed returns the write's error for cause.
func (t *blockTarget) Failed(cause error) error {
	w := t.w
	var tl *engine.TooLargeError
	var be *engine.BodyError
	var oe *objstore.Error
	var de *driver.Error
	switch {
	case errors.As(cause, &tl) && tl.Size >= 0:
		return failKind(w.op, w.key, objstore.ErrInvalidArgument, errTooLarge(tl.Size))
	case errors.As(cause, &tl):
		return failKind(w.op, w.key, objstore.ErrInvalidArgument, fmt.Errorf(
			"the body is longer than the %d bytes that %d blocks hold when they start at %d bytes; "+
				"set PutOptions.PartSize larger, or pass a body whose Len is known", tl.Capacity, tl.MaxParts, tl.PartSize))
	case errors.As(cause, &be):
		return failKind(w.op, w.key, nil, be.Err)
	case context.Cause(t.ctx) != nil:
		return failKind(w.op, w.key, nil, cause)
	case errors.As(cause, &oe), errors.As(cause, &de):
		return cause
	}
	return t.s.fail(w.op, w.key, cause, condNone)
}

var errBlocksLost = errors.New("Put Block List found blocks missing: another upload to the same key committed first, " +
	"and Azure discarded this upload's uncommitted blocks")

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

// blockID returns the ID of block i of the upload whose IDs start with
// prefix. Block IDs must all have the same length within a blob: 16
// bytes, base64-encoded to 24 characters.
func blockID(prefix [8]byte, i int) string {
	var raw [16]byte
	copy(raw[:8], prefix[:])
	binary.BigEndian.PutUint64(raw[8:], uint64(i))
	return base64.StdEncoding.EncodeToString(raw[:])
}
