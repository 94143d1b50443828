package gocloud

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/objstore-go/objstore"
	objdriver "github.com/objstore-go/objstore/driver"
)

// SchemePrefix starts every scheme the bridge registers: gocloud+SCHEME
// opens gocloud's SCHEME:// bucket.
const SchemePrefix = "gocloud+"

// Schemes are the objstore schemes this package registers, one per
// gocloud.dev/blob driver of gocloud.dev v0.49.0 that is worth bridging.
// The gocloud driver itself is imported by the app.
var Schemes = []string{"gocloud+mem", "gocloud+file", "gocloud+s3", "gocloud+azblob", "gocloud+gs"}

// atomicIfNotExist lists the gocloud schemes whose driver checks
// WriterOptions.IfNotExist on the server (or under the bucket's lock, for
// memblob), read from gocloud.dev v0.49.0's source. fileblob is missing:
// it checks with os.Stat, then renames; v0.49's process-wide mutex orders
// only its IfNotExist writers, so an unconditional write (or another
// process) between the two is overwritten.
var atomicIfNotExist = map[string]bool{"mem": true, "s3": true, "azblob": true, "gs": true}

// gocloudPackages names the package that registers each gocloud scheme.
var gocloudPackages = map[string]string{
	"mem": "gocloud.dev/blob/memblob", "file": "gocloud.dev/blob/fileblob", "s3": "gocloud.dev/blob/s3blob",
	"azblob": "gocloud.dev/blob/azureblob", "gs": "gocloud.dev/blob/gcsblob",
}

const credentialHint = "credentials never go in a store URL; gocloud's drivers find them in their SDK's default chain " +
	"(AWS: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or a profile; Azure: AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or a Microsoft Entra credential; " +
	"GCS: Application Default Credentials)"

func init() {
	for _, scheme := range Schemes {
		objstore.Register(scheme, func(ctx context.Context, u *url.URL) (objstore.Store, error) {
			return OpenURL(ctx, u)
		})
	}
}

// OpenURL opens the store that u names, as objstore.Open does for the
// gocloud+ schemes:
//
//	gocloud+s3://bucket/prefix?region=us-east-1   → s3://bucket?region=us-east-1, keys under prefix/
//	gocloud+azblob://container/prefix             → azblob://container
//	gocloud+gs://bucket/prefix                    → gs://bucket
//	gocloud+mem:///prefix                         → mem:// (a new, private bucket on every open)
//	gocloud+file:///abs/dir                       → file:///abs/dir (the path is the directory)
//
// The host and query go to blob.OpenBucket unchanged, so every parameter of
// the gocloud driver works (gocloud rejects the ones it does not know, by
// name), except objstore's keys=portable|native (Options.Keys). The URL
// path is the key prefix, validated as for every objstore
// driver, except for gocloud+file, where it is fileblob's directory. Before
// anything reaches gocloud, OpenURL refuses with ErrInvalidArgument: a
// parameter that looks like a secret (rule U4, with objstore.Query's
// list, which also catches fileblob's secret_key_path), a repeated
// parameter, gocloud's prefix= (the URL path is the prefix) and key=
// (gocloud's single-key bucket, which is no Store). A gocloud scheme
// whose driver the app did not import gives ErrInvalidArgument naming the
// package to import.
func OpenURL(ctx context.Context, u *url.URL) (objstore.Store, error) {
	driver := u.Scheme
	inner, ok := strings.CutPrefix(driver, SchemePrefix)
	fail := func(msg string) (objstore.Store, error) {
		return nil, invalidFor(driver, msg)
	}
	if !ok || inner == "" {
		return fail(fmt.Sprintf("scheme %q does not start with %q", driver, SchemePrefix))
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fail("the URL's query is malformed; write name=value pairs joined by &")
	}
	if _, ok := q["prefix"]; ok {
		return fail("prefix= is gocloud's key prefix; with objstore the URL path is the prefix: write " + driver + "://bucket/prefix")
	}
	if _, ok := q["key"]; ok {
		return fail("key= opens gocloud's single-key bucket, which cannot serve a Store; leave it out")
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	// Query refuses secret-looking and repeated parameters; the rest are
	// gocloud's to judge.
	if _, err := objdriver.Query(u, names, credentialHint); err != nil {
		return nil, err
	}
	// keys= is objstore's, not gocloud's.
	keys := objstore.KeysPortable
	rawQuery := u.RawQuery
	if v, ok := q[objdriver.KeysParam]; ok {
		if keys, err = objdriver.ParseKeyMode(v[0]); err != nil {
			return nil, err
		}
		q.Del(objdriver.KeysParam)
		rawQuery = q.Encode()
	}

	target := &url.URL{Scheme: inner, Host: u.Host, RawQuery: rawQuery}
	prefix := u.Path
	switch inner {
	case "file":
		if u.Host != "" {
			return fail("a file URL has no host; write " + driver + ":///absolute/directory")
		}
		if p := u.Path; p == "" || p != path.Clean(p) && p != path.Clean(p)+"/" {
			return fail(fmt.Sprintf("the directory %q is not a clean absolute path", u.Path))
		}
		target.Path, prefix = u.Path, ""
	case "mem":
		if u.Host != "" {
			return fail("gocloud+mem takes no name: each open is a new private memblob bucket; write " + driver + ":/// (objstore's own mem://NAME is shared by name)")
		}
	}
	mux := blob.DefaultURLMux()
	if !mux.ValidBucketScheme(inner) {
		pkg := gocloudPackages[inner]
		if pkg == "" {
			pkg = "the gocloud.dev driver for " + inner + "://"
		}
		return nil, &objstore.Error{Driver: driver, Op: "open", Kind: objstore.ErrInvalidArgument,
			Err:  fmt.Errorf("no gocloud.dev/blob driver is registered for %s://", inner),
			Hint: fmt.Sprintf("import _ %q in the app; gocloud schemes registered: %s", pkg, strings.Join(mux.BucketSchemes(), ", "))}
	}
	b, err := mux.OpenBucketURL(ctx, target)
	if err != nil {
		kind := codeKinds[gcerrors.Code(err)]
		if kind == nil || kind == objstore.ErrNotFound {
			kind = objstore.ErrInvalidArgument
		}
		return nil, &objstore.Error{Driver: driver, Op: "open", Kind: kind, Err: err}
	}
	br := &bridge{b: b, scheme: driver, rules: wrapKeyRules, native: keys == objstore.KeysNative, ifAbsent: atomicIfNotExist[inner], owns: true}
	if r, ok := schemeKeyRules[inner]; ok {
		br.rules = r
	}
	if inner == "s3" && q.Get("endpoint") != "" {
		br.rules = s3ServerKeyRules
	}
	s, err := objstore.NewStore(br, prefix)
	if err != nil {
		b.Close()
		return nil, err
	}
	return s, nil
}

// invalidFor is the error of input refused when the store of scheme is
// opened.
func invalidFor(scheme, msg string) error {
	return &objstore.Error{Driver: scheme, Op: "open", Kind: objstore.ErrInvalidArgument, Err: errors.New(msg)}
}
