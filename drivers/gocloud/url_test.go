package gocloud_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/gocloud"
)

func TestOpenURL(t *testing.T) {
	tests := []struct {
		url      string
		kind     error  // nil: opens
		mentions string // the error must contain it
	}{
		{"gocloud+mem://", nil, ""},
		{"gocloud+mem:///some/prefix", nil, ""},
		{"gocloud+mem:///?nomd5=1", nil, ""},             // memblob's own parameter passes through
		{"gocloud+mem:///?keys=native&nomd5=1", nil, ""}, // objstore's keys= does not reach gocloud
		{"gocloud+mem:///?keys=bogus", objstore.ErrInvalidArgument, "portable"},
		{"gocloud+mem://name", objstore.ErrInvalidArgument, "takes no name"},
		{"gocloud+mem:///a//b", objstore.ErrInvalidArgument, "empty segment"},
		{"gocloud+mem:///?objstore_bogus=1", objstore.ErrInvalidArgument, "objstore_bogus"},
		{"gocloud+mem:///?secret_access_key=CANARY", objstore.ErrInvalidArgument, "looks like a secret"},
		{"gocloud+mem:///?nomd5=1&nomd5=1", objstore.ErrInvalidArgument, "given 2 times"},
		{"gocloud+mem:///?prefix=p/", objstore.ErrInvalidArgument, "URL path is the prefix"},
		{"gocloud+mem:///?key=k", objstore.ErrInvalidArgument, "single-key"},
		{"gocloud+file:///?secret_key_path=/k", objstore.ErrInvalidArgument, "looks like a secret"},
		{"gocloud+file://host/dir", objstore.ErrInvalidArgument, "no host"},
		{"gocloud+file:///no/such/objstore/dir", objstore.ErrInvalidArgument, "no/such"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			s, err := objstore.Open(context.Background(), tt.url)
			if tt.kind == nil {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want %v", tt.kind)
			}
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.mentions) {
				t.Errorf("Open: %v; want %v mentioning %q", err, tt.kind, tt.mentions)
			}
			if strings.Contains(err.Error(), "CANARY") {
				t.Errorf("the error repeats the secret: %v", err)
			}
		})
	}
}

// TestOpenURLDriverNotImported opens a gocloud scheme whose gocloud driver
// is not registered. The test binary imports every gocloud driver the
// bridge registers a scheme for (gcs_test.go imports gcsblob), so the
// case goes through OpenURL with a scheme no gocloud driver serves.
func TestOpenURLDriverNotImported(t *testing.T) {
	u := &url.URL{Scheme: gocloud.SchemePrefix + "nosuch", Host: "bucket"}
	s, err := gocloud.OpenURL(context.Background(), u)
	if err == nil {
		s.Close()
		t.Fatal("OpenURL succeeded, want ErrInvalidArgument")
	}
	if !errors.Is(err, objstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "no gocloud.dev/blob driver is registered for nosuch://") {
		t.Errorf("OpenURL: %v; want ErrInvalidArgument saying no driver is registered for nosuch://", err)
	}
}
