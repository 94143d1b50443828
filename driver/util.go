package driver

import (
	"io"
	"strings"
)

// Limits shared by every driver. See rules K1 and M1 in docs/SEMANTICS.md.
const (
	MaxKeyLen       = 1024 // bytes, including the store's URL prefix
	MaxSegmentLen   = 255  // bytes between slashes: MinIO stores each segment as a file name
	MaxMetadataSize = 2048 // bytes of keys plus values, each key counted with MetadataKeyOverhead
	// MetadataKeyOverhead is what each metadata key adds to the count: the
	// length of "x-amz-meta-", which MinIO counts as part of the key.
	MetadataKeyOverhead = len("x-amz-meta-")
	DefaultPageSize     = 1000
	DefaultContentType  = "application/octet-stream"
)

// QuoteETag returns etag quoted, as Attrs.ETag always is: services that
// send entity tags bare (Azure's listings, some S3-compatible servers)
// get them quoted; a quoted or weak tag, or "", is returned as it is.
// Drivers use it on every ETag they return.
func QuoteETag(etag string) string {
	if etag == "" || strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, `W/"`) {
		return etag
	}
	return `"` + etag + `"`
}

// NormalizeMetadata returns a copy of m with lowercase keys, or nil when m
// is empty. Drivers use it on what they store and on what they return.
func NormalizeMetadata(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// ContentTypeOrDefault returns ct, or application/octet-stream when ct is
// empty (rule M2).
func ContentTypeOrDefault(ct string) string {
	if ct == "" {
		return DefaultContentType
	}
	return ct
}

// ReaderAtBody reports whether a Put body can be read
// in parallel, as parts read with ReadAt, and returns it as an
// io.ReaderAt of size bytes. That is the case when body implements
// io.ReaderAt and Size() int64, as *io.SectionReader, *bytes.Reader and
// *strings.Reader do, and has not been read from: a Len method, if it has
// one, still reports Size, and a Seek method, if it has one, reports the
// position 0. The object is then the bytes [0, Size) of the ReaderAt. A
// body that has been read from is read on from where it is, with Read, as
// any other body.
func ReaderAtBody(body io.Reader) (r io.ReaderAt, size int64, ok bool) {
	b, ok := body.(interface {
		io.ReaderAt
		Size() int64
	})
	if !ok {
		return nil, 0, false
	}
	size = b.Size()
	if size < 0 {
		return nil, 0, false
	}
	if l, ok := body.(interface{ Len() int }); ok && int64(l.Len()) != size {
		return nil, 0, false
	}
	if s, ok := body.(io.Seeker); ok {
		if pos, err := s.Seek(0, io.SeekCurrent); err != nil || pos != 0 {
			return nil, 0, false
		}
	}
	return b, size, true
}

// Counted returns r, reporting every byte read from it to p: the progress
// of a driver that has stored a byte once it has read it (a file, memory).
func Counted(r io.Reader, p Progress) io.Reader { return &counted{r: r, p: p} }

type counted struct {
	r io.Reader
	p Progress
}

func (c *counted) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.Add(int64(n))
	return n, err
}
