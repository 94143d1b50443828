package upload

import "fmt"

// Limits are a service's bounds on an upload in parts.
//
// The part size grows by one rule, the same for every service: the first
// parts have the size the caller asked for (within MinPartSize and
// MaxPartSize), and the size doubles every g parts, up to MaxPartSize,
// where g is the largest number of parts for which MaxParts parts still
// hold StreamMax bytes (see Group). The part size, and memory with it,
// thus stays where the caller put it for as long as it can; a body of
// unknown size up to StreamMax always fits.
type Limits struct {
	MinPartSize int64 // the smallest part but the last
	MaxPartSize int64 // the largest part
	MaxParts    int   // the most parts an upload has
	// StreamMax is the largest body of unknown size that an upload must
	// take. Its service's largest object, unless only parts of
	// MaxPartSize from the first could reach that: a body of known size
	// (a Len, or a ReaderAt body) may be up to MaxParts × MaxPartSize.
	StreamMax int64
}

// PartSize returns the part size p within the limits.
func (l Limits) PartSize(p int64) int64 { return min(max(p, l.MinPartSize, 1), l.MaxPartSize) }

// SizeAt returns the size of part n, counted from 1, of an upload whose
// parts start at p bytes and double every g parts, up to MaxPartSize.
func (l Limits) SizeAt(p int64, g, n int) int64 {
	shift := (n - 1) / g
	if shift >= 62 || p > l.MaxPartSize>>shift {
		return l.MaxPartSize
	}
	return p << shift
}

// Capacity returns how many bytes MaxParts parts hold when they start at
// p and double every g parts, or at least StreamMax.
func (l Limits) Capacity(p int64, g int) int64 {
	var total int64
	for n := 1; n <= l.MaxParts && total < l.StreamMax; n += g {
		total += int64(min(g, l.MaxParts-n+1)) * l.SizeAt(p, g, n)
	}
	return total
}

// Group returns the largest number of parts g such that MaxParts parts,
// starting at p and doubling every g, hold StreamMax bytes. It returns 1,
// the fastest growth, when no g does.
func (l Limits) Group(p int64) int {
	if l.Capacity(p, l.MaxParts) >= l.StreamMax {
		return l.MaxParts
	}
	lo, hi := 1, l.MaxParts
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if l.Capacity(p, mid) >= l.StreamMax {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// TooLargeError is the failure of a body longer than the parts can hold:
// Size bytes (or, when Size is negative, a body of unknown size longer
// than Capacity), in at most MaxParts parts starting at PartSize bytes.
// Nothing was stored.
type TooLargeError struct {
	Size     int64 // the body's size when it was known, else -1
	Capacity int64 // what the parts hold
	MaxParts int
	PartSize int64 // the size of the first parts
}

func (e *TooLargeError) Error() string {
	if e.Size >= 0 {
		return fmt.Sprintf("the body is %d bytes, more than %d parts can hold (%d bytes)", e.Size, e.MaxParts, e.Capacity)
	}
	return fmt.Sprintf("the body is longer than the %d bytes that %d parts hold when they start at %d bytes", e.Capacity, e.MaxParts, e.PartSize)
}
