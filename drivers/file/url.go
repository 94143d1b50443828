package file

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
)

// Scheme is the URL scheme this package registers.
const Scheme = "file"

func init() { objstore.Register(Scheme, open) }

const credentialHint = "the file driver takes no credentials: it reads and writes with the permissions of the process"

// open serves file:///abs/dir?create=true&keys=native. See the package documentation
// for what the path means.
func open(_ context.Context, u *url.URL) (objstore.Store, error) {
	q, err := driver.Query(u, []string{"create", driver.KeysParam}, credentialHint)
	if err != nil {
		return nil, err
	}
	var opts Options
	if v, ok := q["create"]; ok {
		if opts.Create, err = driver.ParseBool("create", v); err != nil {
			return nil, err
		}
	}
	if v, ok := q[driver.KeysParam]; ok {
		if opts.Keys, err = driver.ParseKeyMode(v); err != nil {
			return nil, err
		}
	}
	if u.Host != "" && u.Host != "localhost" {
		return nil, invalid(
			fmt.Sprintf("the URL names the host %q; a file URL names a local directory, file:///abs/dir (or file://localhost/abs/dir)", u.Host))
	}
	if msg := checkRoot(u.Path); msg != "" {
		return nil, invalid(msg)
	}
	b, err := newBucket(filepath.Clean(filepath.FromSlash(u.Path)), &opts)
	if err != nil {
		return nil, err
	}
	return objstore.NewStore(b, "") // the path is the root, in Info
}

// checkRoot reports why p is not a usable root directory path, or "".
func checkRoot(p string) string {
	if p == "" || p[0] != '/' {
		return "the URL has no absolute path; write file:///abs/dir"
	}
	if p == "/" {
		return ""
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(p[1:], "/"), "/") {
		switch seg {
		case "":
			return fmt.Sprintf("the URL path %q has an empty segment (\"//\"); write the directory's clean absolute path", p)
		case ".", "..":
			return fmt.Sprintf("the URL path %q has a %q segment; write the directory's clean absolute path", p, seg)
		}
	}
	return ""
}

// invalid is the error of input refused when a store is opened.
func invalid(msg string) error {
	return &objstore.Error{Driver: Scheme, Op: "open", Kind: objstore.ErrInvalidArgument, Err: errors.New(msg)}
}
