package s3

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestMultipartETag: the ETag a multipart upload makes is the MD5 of its
// parts' binary MD5s, then "-" and the number of parts; a part ETag that
// is not an MD5 (SSE-KMS, SSE-C) makes none.
func TestMultipartETag(t *testing.T) {
	a, b := md5.Sum([]byte("part one")), md5.Sum([]byte("part two"))
	whole := md5.Sum(append(a[:], b[:]...))
	parts := []types.CompletedPart{
		{PartNumber: aws.Int32(1), ETag: aws.String(`"` + hex.EncodeToString(a[:]) + `"`)},
		{PartNumber: aws.Int32(2), ETag: aws.String(hex.EncodeToString(b[:]))},
	}
	got, ok := multipartETag(parts)
	if want := fmt.Sprintf(`"%x-2"`, whole); !ok || got != want {
		t.Errorf("multipartETag = %s, %v; want %s", got, ok, want)
	}
	parts[1].ETag = aws.String(`"not-an-md5"`)
	if got, ok := multipartETag(parts); ok {
		t.Errorf("multipartETag of a part ETag that is not an MD5 = %s; want none", got)
	}
	if !sameETag(`"abc-2"`, "abc-2") || sameETag(`"abc-2"`, `"abc-3"`) {
		t.Error("sameETag does not compare ETags quoted or not")
	}
}
