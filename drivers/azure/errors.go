package azure

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
)

// cond is the condition a request carried, which decides what a failed
// condition means.
type cond int

const (
	condNone     cond = iota
	condIfAbsent      // a write with If-None-Match: *
	condIfMatch       // a write with If-Match
)

// classes maps the service's error codes to the contract's classes. Codes
// not listed fall back to the HTTP status (see classify).
var classes = map[bloberror.Code]error{
	bloberror.BlobNotFound:          objstore.ErrNotFound,
	bloberror.ContainerNotFound:     objstore.ErrBucketNotFound,
	bloberror.ContainerBeingDeleted: objstore.ErrBucketNotFound,

	bloberror.AuthenticationFailed:        objstore.ErrUnauthenticated,
	bloberror.InvalidAuthenticationInfo:   objstore.ErrUnauthenticated,
	bloberror.NoAuthenticationInformation: objstore.ErrUnauthenticated,

	bloberror.AuthorizationFailure:              objstore.ErrPermission,
	bloberror.AuthorizationPermissionMismatch:   objstore.ErrPermission,
	bloberror.AuthorizationProtocolMismatch:     objstore.ErrPermission,
	bloberror.AuthorizationResourceTypeMismatch: objstore.ErrPermission,
	bloberror.AuthorizationServiceMismatch:      objstore.ErrPermission,
	bloberror.AuthorizationSourceIPMismatch:     objstore.ErrPermission,
	bloberror.InsufficientAccountPermissions:    objstore.ErrPermission,
	bloberror.AccountIsDisabled:                 objstore.ErrPermission,
	bloberror.ContainerDisabled:                 objstore.ErrPermission,

	bloberror.ServerBusy: objstore.ErrThrottled,

	bloberror.BlobAlreadyExists:     objstore.ErrExists,
	bloberror.ConditionNotMet:       objstore.ErrPrecondition,
	bloberror.SourceConditionNotMet: objstore.ErrPrecondition,
	bloberror.TargetConditionNotMet: objstore.ErrPrecondition,

	bloberror.InvalidRange: objstore.ErrInvalidRange,

	bloberror.FeatureVersionMismatch:    objstore.ErrUnsupported,
	bloberror.UnsupportedHeader:         objstore.ErrUnsupported,
	bloberror.UnsupportedQueryParameter: objstore.ErrUnsupported,
}

// classify returns the contract class of err, an error from the SDK, for
// a request that carried c. It returns nil for an error no class fits,
// and for a cancelled or expired context.
func classify(err error, c cond) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return classifyResponse(re.StatusCode, re.ErrorCode, re.Error(), c)
	}
	var failed *azidentity.AuthenticationFailedError
	var required *azidentity.AuthenticationRequiredError
	if errors.As(err, &failed) || errors.As(err, &required) ||
		strings.HasPrefix(err.Error(), "DefaultAzureCredential:") {
		// No token: every source of DefaultAzureCredential was unavailable
		// or refused.
		return objstore.ErrUnauthenticated
	}
	return nil
}

// classifyResponse is classify for a service response: its status, its
// x-ms-error-code and its text.
func classifyResponse(status int, code, text string, c cond) error {
	if status == http.StatusNotModified {
		return objstore.ErrNotModified
	}
	kind, known := classes[bloberror.Code(code)]
	switch {
	case bloberror.Code(code) == bloberror.AuthorizationFailure && strings.Contains(text, "failed to authenticate the request"):
		// Azurite answers a wrong key or signature with AuthorizationFailure
		// and Azure's AuthenticationFailed message; Azure itself uses
		// AuthenticationFailed.
		kind, known = objstore.ErrUnauthenticated, true
	case !known:
		switch status {
		case http.StatusUnauthorized:
			kind = objstore.ErrUnauthenticated
		case http.StatusForbidden:
			kind = objstore.ErrPermission
		case http.StatusNotFound:
			kind = objstore.ErrNotFound
		case http.StatusPreconditionFailed:
			kind = objstore.ErrPrecondition
		case http.StatusRequestedRangeNotSatisfiable:
			kind = objstore.ErrInvalidRange
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			kind = objstore.ErrThrottled
		case http.StatusNotImplemented:
			kind = objstore.ErrUnsupported
		}
	}
	// A failed condition means what the request asked: If-None-Match: *
	// on a write fails because the blob exists (409 or 412, depending on
	// the operation and the service version), and If-Match on a write
	// fails whether the blob changed or is gone.
	switch {
	case c == condIfAbsent && (kind == objstore.ErrPrecondition || kind == objstore.ErrExists):
		return objstore.ErrExists
	case c == condIfMatch && (kind == objstore.ErrNotFound || kind == objstore.ErrPrecondition):
		return objstore.ErrPrecondition
	}
	return kind
}

// fail classifies err, from a request for op on key, with a hint where
// the driver knows one. An error the pipeline classified already passes
// through.
func (s *bucket) fail(op, key string, err error, c cond) *driver.Error {
	kind := classify(err, c)
	e := &driver.Error{Kind: kind, Err: compact(err)}
	switch kind {
	case objstore.ErrUnauthenticated:
		var re *azcore.ResponseError
		if errors.As(err, &re) {
			e.Hint = "the service rejected the credential from " + s.source + "; check that it is current and belongs to the account"
		} else {
			e.Hint = "no token could be obtained from " + s.source + "; sign in (az login), set the AZURE_* variables, or set credential=NAME to use a key, connection string or SAS"
		}
	case objstore.ErrPermission:
		e.Hint = "the credential from " + s.source + " was accepted but may not do this; check its role assignments or SAS permissions"
	}
	return e
}

// failKind is fail with a class the driver decided on.
func failKind(op, key string, kind, err error) *driver.Error {
	return &driver.Error{Kind: kind, Err: err}
}

// oneLineError gives an azcore.ResponseError a one-line message. azcore's
// own spans a dozen lines with the response body; the status, the error
// code and the request line are what a reader needs. errors.As still
// reaches the *azcore.ResponseError underneath.
type oneLineError struct {
	re  *azcore.ResponseError
	err error // what the SDK returned, which wraps re
}

func (r *oneLineError) Error() string {
	var b strings.Builder
	if req := r.re.RawResponse; req != nil && req.Request != nil {
		// The path only: the query may carry a SAS.
		b.WriteString(req.Request.Method + " " + req.Request.URL.EscapedPath() + ": ")
	}
	b.WriteString(strconv.Itoa(r.re.StatusCode))
	if r.re.ErrorCode != "" {
		b.WriteString(" " + r.re.ErrorCode)
	} else if r.re.RawResponse != nil {
		b.WriteString(" " + http.StatusText(r.re.StatusCode))
	}
	return b.String()
}

func (r *oneLineError) Unwrap() error { return r.err }

// compact returns err with a one-line message when it carries a service
// response, and err itself otherwise.
func compact(err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return &oneLineError{re: re, err: err}
	}
	return err
}
