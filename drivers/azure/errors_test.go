package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/objstore-go/objstore"
)

// responseError builds the error the SDK returns for a response with this
// status, x-ms-error-code and XML body message.
func responseError(status int, code, message string) error {
	req, _ := http.NewRequest(http.MethodGet, "https://acct.blob.core.windows.net/c/k", nil)
	body := ""
	if message != "" {
		body = fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, message)
	}
	h := http.Header{}
	if code != "" {
		h.Set("x-ms-error-code", code)
	}
	return runtime.NewResponseError(&http.Response{
		StatusCode: status,
		Status:     fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header:     h,
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    req,
	})
}

func TestClassify(t *testing.T) {
	const authMsg = "Server failed to authenticate the request. Make sure the value of the Authorization header is formed correctly including the signature."
	tests := []struct {
		status int
		code   string
		msg    string
		c      cond
		want   error
	}{
		// The table of codes.
		{404, "BlobNotFound", "", condNone, objstore.ErrNotFound},
		{404, "ContainerNotFound", "", condNone, objstore.ErrBucketNotFound},
		{404, "ContainerNotFound", "", condIfAbsent, objstore.ErrBucketNotFound},
		{404, "ContainerNotFound", "", condIfMatch, objstore.ErrBucketNotFound},
		{409, "ContainerBeingDeleted", "", condNone, objstore.ErrBucketNotFound},
		{403, "AuthenticationFailed", authMsg, condNone, objstore.ErrUnauthenticated},
		{400, "InvalidAuthenticationInfo", "", condNone, objstore.ErrUnauthenticated},
		{401, "NoAuthenticationInformation", "", condNone, objstore.ErrUnauthenticated},
		{403, "AuthorizationFailure", "This request is not authorized to perform this operation.", condNone, objstore.ErrPermission},
		{403, "AuthorizationPermissionMismatch", "", condNone, objstore.ErrPermission},
		{403, "AuthorizationProtocolMismatch", "", condNone, objstore.ErrPermission},
		{403, "AuthorizationResourceTypeMismatch", "", condNone, objstore.ErrPermission},
		{403, "AuthorizationServiceMismatch", "", condNone, objstore.ErrPermission},
		{403, "AuthorizationSourceIPMismatch", "", condNone, objstore.ErrPermission},
		{403, "InsufficientAccountPermissions", "", condNone, objstore.ErrPermission},
		{403, "AccountIsDisabled", "", condNone, objstore.ErrPermission},
		{503, "ServerBusy", "", condNone, objstore.ErrThrottled},
		{500, "ServerBusy", "", condNone, objstore.ErrThrottled},
		{416, "InvalidRange", "", condNone, objstore.ErrInvalidRange},
		{304, "ConditionNotMet", "", condNone, objstore.ErrNotModified},
		{304, "", "", condNone, objstore.ErrNotModified},
		// Azurite's answer to a wrong key.
		{403, "AuthorizationFailure", authMsg, condNone, objstore.ErrUnauthenticated},
		// Conditions, by what the request asked.
		{409, "BlobAlreadyExists", "", condIfAbsent, objstore.ErrExists},
		{412, "ConditionNotMet", "", condIfAbsent, objstore.ErrExists},
		{412, "TargetConditionNotMet", "", condIfAbsent, objstore.ErrExists},
		{412, "ConditionNotMet", "", condIfMatch, objstore.ErrPrecondition},
		{404, "BlobNotFound", "", condIfMatch, objstore.ErrPrecondition},
		{412, "ConditionNotMet", "", condNone, objstore.ErrPrecondition},
		{412, "SourceConditionNotMet", "", condNone, objstore.ErrPrecondition},
		{409, "BlobAlreadyExists", "", condNone, objstore.ErrExists},
		// Unknown codes fall back to the status.
		{401, "", "", condNone, objstore.ErrUnauthenticated},
		{403, "SomethingNew", "", condNone, objstore.ErrPermission},
		{404, "ResourceNotFound", "", condNone, objstore.ErrNotFound},
		{412, "", "", condNone, objstore.ErrPrecondition},
		{412, "", "", condIfAbsent, objstore.ErrExists},
		{416, "", "", condNone, objstore.ErrInvalidRange},
		{429, "", "", condNone, objstore.ErrThrottled},
		{503, "", "", condNone, objstore.ErrThrottled},
		{501, "", "", condNone, objstore.ErrUnsupported},
		{400, "UnsupportedHeader", "", condNone, objstore.ErrUnsupported},
		// No class fits.
		{500, "InternalError", "", condNone, nil},
		{400, "InvalidBlockList", "", condNone, nil},
		{400, "InvalidHeaderValue", "", condNone, nil},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%d/%s/%d", tt.status, tt.code, tt.c)
		if tt.msg != "" {
			name += "/message"
		}
		t.Run(name, func(t *testing.T) {
			err := responseError(tt.status, tt.code, tt.msg)
			if got := classify(err, tt.c); got != tt.want {
				t.Errorf("classify = %v, want %v", got, tt.want)
			}
			// Through fail: the class for errors.Is, the SDK's error for
			// errors.As.
			e := (&bucket{source: "AZSTORE_TEST_KEY"}).fail("get", "k", err, tt.c)
			if tt.want != nil && !errors.Is(e, tt.want) {
				t.Errorf("fail(...) = %v, not %v", e, tt.want)
			}
			var re *azcore.ResponseError
			if !errors.As(e, &re) || re.StatusCode != tt.status {
				t.Errorf("errors.As does not reach the *azcore.ResponseError through %v", e)
			}
		})
	}
}

func TestClassifyNonResponse(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"canceled", fmt.Errorf("wrapped: %w", context.Canceled), nil},
		{"deadline", &url.Error{Op: "Get", URL: "https://x", Err: context.DeadlineExceeded}, nil},
		{"token refused", &azidentity.AuthenticationFailedError{}, objstore.ErrUnauthenticated},
		{"token required", &azidentity.AuthenticationRequiredError{}, objstore.ErrUnauthenticated},
		{"no token source", errors.New("DefaultAzureCredential: failed to acquire a token."), objstore.ErrUnauthenticated},
		{"network", &url.Error{Op: "Get", URL: "https://x", Err: errors.New("connection refused")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.err, condNone); got != tt.want {
				t.Errorf("classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	// A cancelled request keeps context.Canceled reachable and has no
	// class.
	e := (&bucket{}).fail("put", "k", &url.Error{Op: "Put", URL: "https://x", Err: context.Canceled}, condNone)
	if !errors.Is(e, context.Canceled) || e.Kind != nil {
		t.Errorf("a cancelled request gives %v (Kind %v)", e, e.Kind)
	}
}

func TestFailHints(t *testing.T) {
	s := &bucket{source: "AZSTORE_PROD_KEY"}
	e := s.fail("stat", "k", responseError(403, "AuthenticationFailed", "Server failed to authenticate the request."), condNone)
	if !strings.Contains(e.Error(), "AZSTORE_PROD_KEY") {
		t.Errorf("an authentication failure does not name the variable the credential came from: %v", e)
	}
	e = s.fail("stat", "k", responseError(403, "AuthorizationPermissionMismatch", ""), condNone)
	if !strings.Contains(e.Error(), "permission") {
		t.Errorf("a permission failure does not say so: %v", e)
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	s := &bucket{source: "AZSTORE_X_KEY"}
	req, _ := http.NewRequest(http.MethodGet, "https://acct.blob.core.windows.net/c/k?sv=1&sig=CANARYsig", nil)
	raw := runtime.NewResponseError(&http.Response{
		StatusCode: 404, Status: "404 Not Found", Request: req,
		Header: http.Header{"X-Ms-Error-Code": {"BlobNotFound"}},
		Body:   io.NopCloser(strings.NewReader("<Error><Code>BlobNotFound</Code><Message>gone\nRequestId:1</Message></Error>")),
	})
	err := s.fail("get", "k", raw, condNone)
	msg := err.Error()
	if strings.Contains(msg, "\n") || strings.Contains(msg, "CANARYsig") || !strings.Contains(msg, "GET /c/k: 404 BlobNotFound") {
		t.Errorf("message %q: want one line with the request and the code, and no query", msg)
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.ErrorCode != "BlobNotFound" || !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("the one-line error lost its class or the SDK error: %v", err)
	}
}
