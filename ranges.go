package objstore

import "math"

// Last returns the offset of the last byte r asks for, and false when r
// runs to the end of the object: when Length is negative, or so large that
// the last byte would lie past math.MaxInt64. Any Offset ≥ 0 and any Length
// are valid (rule G3), so a driver builds its Range header from Last, never
// from Offset+Length-1, which can overflow: "bytes=10-" when bounded is
// false, else "bytes=Offset-last". A server may ignore a malformed Range
// header and send the whole object. A Length of 0 asks for nothing, which a
// Range header cannot say; drivers answer it without one.
func (r Range) Last() (last int64, bounded bool) {
	if r.Length < 0 || r.Offset < 0 || r.Length > 0 && r.Length-1 > math.MaxInt64-r.Offset {
		return 0, false
	}
	return r.Offset + r.Length - 1, true
}
