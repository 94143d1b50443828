package main

import (
	"errors"
	"testing"

	"github.com/objstore-go/objstore"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		arg, store, key, local string
	}{
		{"s3://bucket/dir/key.txt?region=us-east-1", "s3://bucket?region=us-east-1", "dir/key.txt", ""},
		{"s3://bucket", "s3://bucket", "", ""},
		{"s3://bucket/", "s3://bucket", "", ""},
		{"s3://bucket/dir/", "s3://bucket", "dir/", ""},
		{"azblob://c/a/b?account=acct&endpoint=http://127.0.0.1:1/acct", "azblob://c?account=acct&endpoint=http://127.0.0.1:1/acct", "a/b", ""},
		{"mem://name/k", "mem://name", "k", ""},
		{"mem://", "mem://", "", ""},
		{"file:///abs/dir/key.txt", "file:///", "abs/dir/key.txt", ""},
		{"file://localhost/abs/k?create=true", "file://localhost/?create=true", "abs/k", ""},
		{"s3://b/a%3Fb%25c%20d", "s3://b", "a?b%c d", ""},
		{"./rel/path", "", "", "./rel/path"},
		{"C:\\dir\\f", "", "", "C:\\dir\\f"},
		{"-", "", "", "-"},
	} {
		got, err := parseTarget(tc.arg)
		if err != nil {
			t.Errorf("parseTarget(%q): %v", tc.arg, err)
			continue
		}
		if got.store != tc.store || got.key != tc.key || got.local != tc.local {
			t.Errorf("parseTarget(%q) = store %q key %q local %q, want %q %q %q", tc.arg, got.store, got.key, got.local, tc.store, tc.key, tc.local)
		}
		if got.isURL() {
			// The object URL printed back opens the same store and key.
			again, err := parseTarget(got.String())
			if err != nil || again != got {
				t.Errorf("parseTarget(%q).String() = %q, which parses to %+v, %v", tc.arg, got.String(), again, err)
			}
		}
	}
	for _, arg := range []string{"", "s3://b/a%zz", "s3://b/k#frag", "s3://b/k%23x#y"} {
		_, err := parseTarget(arg)
		if exitCode(err) != exitUsage {
			t.Errorf("parseTarget(%q) gave %v (exit %d), want a usage error", arg, err, exitCode(err))
		}
	}
}

func TestExitCode(t *testing.T) {
	notFound := &objstore.Error{Driver: "s3", Op: "get", Key: "k", Kind: objstore.ErrNotFound}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{notFound, exitNotFound},
		{&objstore.Error{Driver: "s3", Op: "list", Kind: objstore.ErrBucketNotFound}, exitNotFound},
		{&objstore.Error{Driver: "s3", Op: "put", Kind: objstore.ErrUnauthenticated}, exitFail},
		{&objstore.Error{Driver: "s3", Op: "open", Kind: objstore.ErrInvalidArgument}, exitUsage},
		{usageErrorf("bad"), exitUsage},
		{errors.New("boom"), exitFail},
		// rm -r and cp -r failures exit 1 whatever their classes.
		{&failures{n: 1, of: 2, err: errors.Join(notFound)}, exitFail},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
