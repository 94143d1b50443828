package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/objstore-go/objstore"
)

// target is a command-line operand: an object URL split into its store and
// key, or a local path.
type target struct {
	// local is the local path ("-" for stdin or stdout) when the operand
	// is not a URL.
	local string
	// store is the store URL: the operand without its path.
	store string
	// key is the operand's path without its leading "/", percent-decoded.
	key string
}

func (t target) isURL() bool { return t.store != "" }

// String is the operand as the user would write it.
func (t target) String() string {
	if !t.isURL() {
		return t.local
	}
	return objectURL(t.store, t.key)
}

// parseTarget reads an operand. One with "://" is an object URL: see the
// package documentation for the rule. Anything else is a local path.
func parseTarget(arg string) (target, error) {
	if !strings.Contains(arg, "://") {
		name, key, storeURL, ok, err := namedOperand(arg)
		if err != nil {
			return target{}, err
		}
		if ok {
			return resolveNamed(name, storeURL, key)
		}
		if arg == "" {
			return target{}, usageErrorf("an empty operand; give a local path or an object URL")
		}
		return target{local: arg}, nil
	}
	u, err := url.Parse(arg)
	if err != nil {
		// url.Error repeats the URL; say only why.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return target{}, &objstore.Error{Driver: "objstore", Op: "open", Kind: objstore.ErrInvalidArgument,
			Err: fmt.Errorf("malformed URL: %w", err), Hint: "an object URL looks like s3://bucket/dir/key.txt?region=us-east-1"}
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return target{}, &objstore.Error{Driver: u.Scheme, Op: "open", Kind: objstore.ErrInvalidArgument,
			Err: errors.New("the URL has a fragment (#...)"), Hint: "write %23 for a \"#\" in a key"}
	}
	// Built by hand: url.URL.String drops the "//" of an empty host
	// ("mem:"), and file:// needs the absolute root path.
	store := u.Scheme + "://"
	if u.User != nil {
		store += u.User.String() + "@" // for Open to refuse, as it does
	}
	store += u.Host
	if u.Scheme == "file" {
		store += "/"
	}
	if u.RawQuery != "" {
		store += "?" + u.RawQuery
	}
	return target{store: store, key: strings.TrimPrefix(u.Path, "/")}, nil
}

// objectURL joins a store URL and a key.
func objectURL(store, key string) string {
	u, err := url.Parse(store)
	if err != nil {
		return store + "/" + key
	}
	u.Path = "/" + key
	u.RawPath = ""
	return u.String()
}

// dirKey makes key a directory prefix: "" stays "", "a" becomes "a/".
func dirKey(key string) string {
	if key == "" || strings.HasSuffix(key, "/") {
		return key
	}
	return key + "/"
}

// baseName is the last segment of a key or path ("a/b/c" → "c").
func baseName(key string) string {
	return path.Base(strings.TrimSuffix(key, "/"))
}

// stores opens each store URL once per invocation, so that two operands
// in one store share a handle (and mem:// stores their objects). It is
// safe for concurrent use.
type stores struct {
	ctx  context.Context
	mu   sync.Mutex
	open map[string]objstore.Store
}

func newStores(ctx context.Context) *stores {
	return &stores{ctx: ctx, open: map[string]objstore.Store{}}
}

func (s *stores) get(t target) (objstore.Store, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.open[t.store]; ok {
		return st, nil
	}
	st, err := objstore.Open(s.ctx, t.store)
	if err != nil {
		return nil, err
	}
	s.open[t.store] = st
	return st, nil
}

func (s *stores) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.open {
		st.Close()
	}
}

// openURL parses arg, which must be an object URL, and opens its store.
func openURL(ctx context.Context, arg string) (objstore.Store, target, func(), error) {
	t, err := parseTarget(arg)
	if err != nil {
		return nil, t, nil, err
	}
	if !t.isURL() {
		return nil, t, nil, usageErrorf("%q is neither a URL nor NAME:KEY of a named store; write an object URL such as s3://bucket/key or file:///abs/path (objstore store list prints the names)", arg)
	}
	st, err := objstore.Open(ctx, t.store)
	if err != nil {
		return nil, t, nil, err
	}
	return st, t, func() { st.Close() }, nil
}
