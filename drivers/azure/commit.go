package azure

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/parts"
)

// A write whose answer is lost is resent by the pipeline, and the resend
// can meet the write's own first attempt: a conditional Put Block List or
// Put Blob then fails its condition (If-None-Match: * finds the blob the
// write made, If-Match finds its new ETag). This file tells such an answer
// from a real failure (docs/SEMANTICS.md, P10).

// settleBlocks decides what a Put Block List of ids that failed with err
// did when one of its attempts lost its answer: that attempt may have
// committed the blocks, whatever the last attempt was answered. The block
// IDs tell, as their 8-byte prefix is random per upload: if the blob's
// committed blocks are ids, this write is the blob, a success. If ids are
// still uncommitted, no attempt committed them, and err stands. If they
// are neither, another writer committed since the blocks were staged,
// which discards them: after this write (which it replaced) or before it
// (which it prevented). For a conditional write that is the condition
// failing (ErrExists, ErrPrecondition): another writer's blob holds the
// key. For an unconditional one the write may have been stored and then
// replaced (parts.LostAnswer).
func (s *bucket) settleBlocks(ctx context.Context, bb *blockblob.Client, w write, ids []string, size int64, err error) (driver.Attrs, error) {
	lctx, end := s.pipe.Begin(ctx, "check", w.key)
	list, lerr := bb.GetBlockList(lctx, blockblob.BlockListTypeAll, nil)
	end(lerr)
	missing := lerr != nil && classify(lerr, condNone) == objstore.ErrNotFound
	switch {
	case lerr != nil && !missing:
		return driver.Attrs{}, parts.LostAnswer(ctx, Scheme, w.op, w.key,
			fmt.Sprintf("reading the blob's block list, to find out whether this write was committed, failed (%v)", compact(lerr)), compact(err))
	case lerr == nil && sameBlocks(list.CommittedBlocks, ids):
		if list.ETag == nil {
			// The block list's response carries the blob's ETag; a
			// server that leaves it out is asked for the properties.
			p, perr := s.properties(ctx, bb, w.key)
			if perr != nil {
				return driver.Attrs{}, parts.LostAnswer(ctx, Scheme, w.op, w.key,
					fmt.Sprintf("this write's blocks are committed, but reading the blob's properties failed (%v)", compact(perr)), compact(err))
			}
			return w.attrs(size, p.ETag, p.LastModified, p.Date), nil
		}
		return w.attrs(size, list.ETag, list.LastModified, list.Date), nil
	case lerr == nil && hasBlocks(list.UncommittedBlocks, ids):
		if bloberror.HasCode(err, bloberror.InvalidBlockList) {
			return driver.Attrs{}, s.lostBlocks(ctx, bb, w, err)
		}
		return driver.Attrs{}, s.fail(w.op, w.key, err, w.cond())
	case missing:
		return driver.Attrs{}, parts.LostAnswer(ctx, Scheme, w.op, w.key,
			"the blob is missing and this write's blocks are gone: it was committed and then deleted, or its blocks were discarded", compact(err))
	}
	other := fmt.Sprintf("another writer's blob holds the key (ETag %s): it replaced this write, committed by the attempt whose answer was lost, "+
		"or it was committed first and Azure discarded this write's blocks", etagString(list.ETag))
	switch w.cond() {
	case condIfAbsent:
		return driver.Attrs{}, failKind(w.op, w.key, objstore.ErrExists, fmt.Errorf("%s: %w", other, compact(err)))
	case condIfMatch:
		return driver.Attrs{}, failKind(w.op, w.key, objstore.ErrPrecondition, fmt.Errorf("%s: %w", other, compact(err)))
	}
	return driver.Attrs{}, parts.LostAnswer(ctx, Scheme, w.op, w.key, other, compact(err))
}

// sameBlocks reports whether blocks are the blocks ids, in order.
func sameBlocks(blocks []*blockblob.Block, ids []string) bool {
	if len(blocks) != len(ids) {
		return false
	}
	for i, b := range blocks {
		if b == nil || deref(b.Name) != ids[i] {
			return false
		}
	}
	return true
}

// hasBlocks reports whether blocks hold every one of ids.
func hasBlocks(blocks []*blockblob.Block, ids []string) bool {
	have := make(map[string]bool, len(blocks))
	for _, b := range blocks {
		if b != nil {
			have[deref(b.Name)] = true
		}
	}
	for _, id := range ids {
		if !have[id] {
			return false
		}
	}
	return true
}

// properties reads a blob's properties in an operation of its own, as
// settleBlocks reads the block list: the attempts the write's error
// reports stay those of the write's own request.
func (s *bucket) properties(ctx context.Context, bb *blockblob.Client, key string) (blob.GetPropertiesResponse, error) {
	ctx, end := s.pipe.Begin(ctx, "check", key)
	p, err := bb.GetProperties(ctx, nil)
	end(err)
	return p, err
}

// settleBlob decides what a Put Blob of the size bytes of body did when
// it failed with err (failed is its classified error) after one of its
// attempts lost its answer: that attempt may have stored the body, and a
// resend of a conditional write then fails its condition on it. The key
// tells: if it holds another blob (another size, ContentType, Metadata or
// Content-MD5, which the service computes for a Put Blob), or none,
// failed stands. If it holds exactly the body with this write's
// ContentType and Metadata, an unconditional write succeeded, and
// settleBlob returns its attributes. A conditional one may have: the lost
// attempt stored it, or another writer stored the same, and a Put Blob
// carries nothing that tells them apart; so it gets an error with no
// class (parts.LostAnswer), as it does when the key cannot be looked at.
func (s *bucket) settleBlob(ctx context.Context, w write, body io.ReadSeeker, size int64, err error, failed *driver.Error) (driver.Attrs, error) {
	p, same, why := s.holds(ctx, w, body, size)
	switch {
	case w.cond() == condNone && same:
		return w.attrs(size, p.ETag, p.LastModified, p.Date), nil
	case w.cond() == condNone:
		return driver.Attrs{}, failed
	case why != "":
		return driver.Attrs{}, parts.LostAnswer(ctx, Scheme, w.op, w.key, why, compact(err))
	case same:
		return driver.Attrs{}, parts.LostAnswer(ctx, Scheme, w.op, w.key,
			"the key holds exactly this write's bytes, ContentType and Metadata, stored by the attempt whose answer was lost or by another writer; nothing tells them apart", compact(err))
	}
	return driver.Attrs{}, failed
}

// holds reports whether w's key holds exactly the size bytes of body with
// w's ContentType and Metadata, as one Put Blob of them makes it: the
// blob's Content-MD5 is their MD5. why says what kept it from finding out.
func (s *bucket) holds(ctx context.Context, w write, body io.ReadSeeker, size int64) (p blob.GetPropertiesResponse, same bool, why string) {
	p, err := s.properties(ctx, s.blob(w.full), w.key)
	switch {
	case err != nil && classify(err, condNone) == objstore.ErrNotFound:
		return p, false, ""
	case err != nil:
		return p, false, fmt.Sprintf("reading the blob's properties, to find out whether the write was stored, failed (%v)", compact(err))
	case deref(p.ContentLength) != size || driver.ContentTypeOrDefault(deref(p.ContentType)) != w.contentType ||
		!maps.Equal(metadataOut(p.Metadata), w.metadata):
		return p, false, ""
	case len(p.ContentMD5) == 0:
		return p, false, "the key holds a blob of this write's size, ContentType and Metadata, with no Content-MD5 to compare its bytes with"
	}
	sum, err := parts.MD5(body, size)
	if err != nil {
		return p, false, fmt.Sprintf("the body could not be read again to compare it with the blob (%v)", err)
	}
	return p, bytes.Equal(sum, p.ContentMD5), ""
}

// settleCopy decides what an IfAbsent Copy Blob did when it failed
// because dst exists (failed; err is the SDK's error) after one of its
// attempts lost its answer: that attempt may have started the copy that
// made dst. If dst is a copy of another source, or no copy, failed
// stands. If it is a copy of this copy's source, the lost attempt made it,
// or another writer copied the same source: the copy ID that would tell
// was in the lost answer. So the copy may have happened
// (parts.LostAnswer).
func (s *bucket) settleCopy(ctx context.Context, dstBlob *blockblob.Client, c copyJob, source string, err error, failed error) error {
	p, perr := s.properties(ctx, dstBlob, c.dst)
	switch {
	case perr != nil && classify(perr, condNone) == objstore.ErrNotFound:
		return failed
	case perr != nil:
		return parts.LostAnswer(ctx, Scheme, "copy", c.dst,
			fmt.Sprintf("reading dst's properties, to find out whether this copy made it, failed (%v)", compact(perr)), compact(err))
	case withoutQuery(deref(p.CopySource)) != withoutQuery(source):
		return failed
	}
	return parts.LostAnswer(ctx, Scheme, "copy", c.dst,
		"dst is a copy of this copy's source, made by the attempt whose answer was lost or by another writer; nothing tells them apart", compact(err))
}

// withoutQuery returns a URL without its query, which may carry a SAS.
func withoutQuery(u string) string {
	base, _, _ := strings.Cut(u, "?")
	return base
}
