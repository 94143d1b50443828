package objstore_test

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/internal/redact"
)

func TestErrorIsAndAs(t *testing.T) {
	cause := &fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist}
	err := fmt.Errorf("wrapped: %w", &objstore.Error{Driver: "s3", Op: "get", Key: "a/b", Kind: objstore.ErrNotFound, Err: cause})
	if !errors.Is(err, objstore.ErrNotFound) {
		t.Error("errors.Is does not see the class")
	}
	if errors.Is(err, objstore.ErrBucketNotFound) {
		t.Error("a not-found error is also bucket-not-found")
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		t.Error("errors.As does not reach the cause")
	}
	var oe *objstore.Error
	if !errors.As(err, &oe) || oe.Key != "a/b" {
		t.Error("errors.As does not reach *objstore.Error")
	}
	if got := err.Error(); !strings.Contains(got, `s3 get "a/b": object not found: open x`) {
		t.Errorf("message %q does not name the driver, op, key, class and cause", got)
	}
}

func TestErrorHints(t *testing.T) {
	e := &objstore.Error{Driver: "azblob", Op: "list", Kind: objstore.ErrUnauthenticated}
	if !strings.Contains(e.Error(), "check the credentials") {
		t.Errorf("no default hint: %s", e)
	}
	e.Hint = "set AZSTORE_PROD_KEY"
	if !strings.Contains(e.Error(), "(set AZSTORE_PROD_KEY)") {
		t.Errorf("the hint is not shown: %s", e)
	}
}

// Canary secrets in every shape the SDKs put them in error text.
func TestRedact(t *testing.T) {
	const canary = "CANARYc4n4ry"
	for _, in := range []string{
		"GET https://acct.blob.core.windows.net/c/b?sv=2020&sig=" + canary + "&se=2030",
		"https://b.s3.amazonaws.com/k?X-Amz-Signature=" + canary + "&X-Amz-Credential=AKIA/" + canary,
		"X-Amz-Security-Token=" + canary,
		"DefaultEndpointsProtocol=https;AccountName=a;AccountKey=" + canary + ";EndpointSuffix=core.windows.net",
		"BlobEndpoint=https://a;SharedAccessSignature=sv=1&sig=" + canary,
		"Authorization: SharedKey acct:" + canary,
		"authorization=AWS4-HMAC-SHA256 Credential=AKIA/" + canary,
		"token: Bearer " + canary,
		"https://user:" + canary + "@host/path",
	} {
		if got := redact.String(in); strings.Contains(got, canary) {
			t.Errorf("Redact(%q) = %q still shows the secret", in, got)
		}
	}
	if got := redact.String("s3 get \"signature/key\": object not found"); got != "s3 get \"signature/key\": object not found" {
		t.Errorf("Redact changed text with no secret: %q", got)
	}
	e := &objstore.Error{Driver: "azblob", Op: "get", Kind: objstore.ErrPermission, Err: errors.New("GET https://a/c/b?sig=" + canary)}
	if strings.Contains(e.Error(), canary) || strings.Contains(fmt.Sprintf("%v %+v", e, e), canary) {
		t.Errorf("an Error shows the signature of its cause: %v", e)
	}
}
