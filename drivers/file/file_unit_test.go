package file_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/drivers/file"
)

func newStore(t *testing.T) (objstore.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := file.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func put(t *testing.T, s objstore.Store, key, data string, opts *objstore.PutOptions) objstore.Attrs {
	t.Helper()
	a, err := s.Put(t.Context(), key, strings.NewReader(data), opts)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return a
}

func listKeys(t *testing.T, s objstore.Store, opts *objstore.ListOptions) []string {
	t.Helper()
	var out []string
	for e, err := range s.List(t.Context(), opts) {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		out = append(out, e.Key)
	}
	return out
}

// files returns every path under dir, relative and slash-separated.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantKind(t *testing.T, err, kind error, what string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: got %v, want an error that is %v", what, err, kind)
	}
	var oe *objstore.Error
	if !errors.As(err, &oe) || oe.Driver != file.Scheme {
		t.Fatalf("%s: %v is not an *objstore.Error of driver %q", what, err, file.Scheme)
	}
}

// Symbolic links that leave the root are never followed, for reads or
// writes; a symbolic link at a key's own path is not an object.
func TestSymlinksOutOfRoot(t *testing.T) {
	ctx := t.Context()
	s, dir := newStore(t)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}

	// Through a directory link: refused, nothing outside read or written.
	_, err := s.Stat(ctx, "out/secret")
	wantKind(t, err, objstore.ErrPermission, "Stat through a link out of the root")
	_, err = s.Get(ctx, "out/secret", nil)
	wantKind(t, err, objstore.ErrPermission, "Get through a link out of the root")
	_, err = s.Put(ctx, "out/new", strings.NewReader("x"), nil)
	wantKind(t, err, objstore.ErrPermission, "Put through a link out of the root")
	_, err = s.Put(ctx, "out/secret", strings.NewReader("overwritten"), nil)
	wantKind(t, err, objstore.ErrPermission, "Put over a file through a link out of the root")
	err = s.Delete(ctx, "out/secret")
	wantKind(t, err, objstore.ErrPermission, "Delete through a link out of the root")
	_, err = s.Copy(ctx, "out/copy", "nothing", nil)
	wantKind(t, err, objstore.ErrNotFound, "Copy from a missing key")
	put(t, s, "src", "src", nil)
	_, err = s.Copy(ctx, "out/copy", "src", nil)
	wantKind(t, err, objstore.ErrPermission, "Copy through a link out of the root")
	_, err = s.Copy(ctx, "dst", "out/secret", nil)
	wantKind(t, err, objstore.ErrPermission, "Copy from a link out of the root")

	// A link as the key itself: not an object, and not written through.
	_, err = s.Stat(ctx, "link")
	wantKind(t, err, objstore.ErrNotFound, "Stat of a symbolic link")
	_, err = s.Get(ctx, "link", nil)
	wantKind(t, err, objstore.ErrNotFound, "Get of a symbolic link")
	_, err = s.Put(ctx, "link", strings.NewReader("overwritten"), nil)
	wantKind(t, err, objstore.ErrPermission, "Put over a symbolic link")
	_, err = s.Put(ctx, "link", strings.NewReader("overwritten"), &objstore.PutOptions{IfAbsent: true})
	wantKind(t, err, objstore.ErrExists, "Put IfAbsent over a symbolic link")
	wantKind(t, s.Delete(ctx, "link"), objstore.ErrPermission, "Delete of a symbolic link")

	if got := listKeys(t, s, nil); !slices.Equal(got, []string{"src"}) {
		t.Errorf("List shows %q, want [src]: links are not objects", got)
	}
	if data, _ := os.ReadFile(secret); string(data) != "secret" {
		t.Errorf("the file outside the root now holds %q", data)
	}
	if got := files(t, outside); !slices.Equal(got, []string{"secret"}) {
		t.Errorf("the directory outside the root now holds %q", got)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "link")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symbolic link was replaced or removed: %v", err)
	}
}

// failAfter serves n bytes, then fails.
type failAfter struct {
	n   int
	err error
}

var errBody = errors.New("the body failed on purpose")

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errBody
	}
	n := min(len(p), f.n)
	for i := range n {
		p[i] = 'x'
	}
	f.n -= n
	return n, nil
}

// A body that fails midway, or a cancelled context, leaves the old
// object, its sidecar, and no temporary file; a new key leaves nothing.
func TestFailedWriteLeavesNoTrace(t *testing.T) {
	s, dir := newStore(t)
	meta := &objstore.PutOptions{ContentType: "text/old", Metadata: map[string]string{"v": "old"}}
	old := put(t, s, "d/k", "old", meta)
	before := files(t, dir)

	ctx, cancel := context.WithCancel(t.Context())
	cancelAfter := &cancelReader{r: &failAfter{n: 1 << 20}, n: 1000, cancel: cancel}
	tests := []struct {
		name string
		ctx  context.Context
		body io.Reader
		want error
	}{
		{"failing body", t.Context(), &failAfter{n: 100000}, errBody},
		{"cancelled midway", ctx, cancelAfter, context.Canceled},
	}
	for _, tt := range tests {
		for _, key := range []string{"d/k", "new/deep/k"} {
			_, err := s.Put(tt.ctx, key, tt.body, &objstore.PutOptions{ContentType: "text/new", Metadata: map[string]string{"v": "new"}})
			if !errors.Is(err, tt.want) {
				t.Errorf("%s: Put(%q) = %v, want %v", tt.name, key, err, tt.want)
			}
		}
		st, err := s.Stat(t.Context(), "d/k")
		if err != nil || st.ETag != old.ETag || st.ContentType != "text/old" || st.Metadata["v"] != "old" {
			t.Errorf("%s: after the failed put, Stat = %+v, %v; want the old object", tt.name, st, err)
		}
		if got := files(t, dir); !slices.Equal(got, before) {
			t.Errorf("%s: the directory holds\n %q\nwant, as before,\n %q", tt.name, got, before)
		}
	}
}

type cancelReader struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

// Objects "a" and "a/b" cannot both exist on a filesystem: the second
// write gets ErrInvalidArgument that names the clash, and changes
// nothing.
func TestFileDirectoryConflict(t *testing.T) {
	ctx := t.Context()
	s, _ := newStore(t)
	put(t, s, "a", "file", nil)
	put(t, s, "x/y", "child", nil)
	tests := []struct {
		key, clash string
		opts       *objstore.PutOptions
	}{
		{"a/b", `"a" is an object`, nil},
		{"a/b/c", `"a" is an object`, nil},
		{"x", `objects exist under "x/"`, nil},
		{"x", `objects exist under "x/"`, &objstore.PutOptions{IfAbsent: true}},
		{"x", `objects exist under "x/"`, &objstore.PutOptions{IfMatch: "*"}},
	}
	for _, tt := range tests {
		_, err := s.Put(ctx, tt.key, strings.NewReader("x"), tt.opts)
		wantKind(t, err, objstore.ErrInvalidArgument, fmt.Sprintf("Put(%q, %+v)", tt.key, tt.opts))
		if !strings.Contains(err.Error(), tt.clash) {
			t.Errorf("Put(%q): the error %q does not say %s", tt.key, err, tt.clash)
		}
	}
	_, err := s.Copy(ctx, "a/copy", "x/y", nil)
	wantKind(t, err, objstore.ErrInvalidArgument, "Copy to a key under an object")
	_, err = s.Stat(ctx, "x")
	wantKind(t, err, objstore.ErrNotFound, "Stat of a directory")
	_, err = s.Stat(ctx, "a/b")
	wantKind(t, err, objstore.ErrNotFound, "Stat of a key under an object")
	if err := s.Delete(ctx, "x"); err != nil {
		t.Errorf("Delete of a directory: %v, want nil", err)
	}
	if got := listKeys(t, s, nil); !slices.Equal(got, []string{"a", "x/y"}) {
		t.Errorf("List = %q, want [a x/y]", got)
	}
}

// List shows objects only: not sidecars, temporary files, links, or
// files whose names no key can have; and Delete removes the directories
// it empties.
func TestListHidesBookkeeping(t *testing.T) {
	s, dir := newStore(t)
	put(t, s, "d/k", "x", &objstore.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"a": "b"}})
	put(t, s, "top", "x", &objstore.PutOptions{Metadata: map[string]string{"a": "b"}})
	// What a crash leaves, and what other tools put there: a name no key
	// has (not UTF-8), and "name.", which is not portable but is a key
	// the driver addresses (rule K3), so it is listed.
	for _, p := range []string{"d/.objstore./tmp-0123", "d/.objstore./ffff.1", "name.", "d/e/.objstore./tmp-1", "bad\xff"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o777)
		if err := os.WriteFile(filepath.Join(dir, p), []byte("junk"), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("top", filepath.Join(dir, "d/link"))
	os.Mkdir(filepath.Join(dir, "empty"), 0o777)
	for _, opts := range []*objstore.ListOptions{nil, {PageSize: 1}, {Prefix: "d/"}, {StartAfter: "d"}} {
		if got := listKeys(t, s, opts); !slices.Equal(got, []string{"d/k", "name.", "top"}) && !(opts != nil && opts.Prefix == "d/" && slices.Equal(got, []string{"d/k"})) {
			t.Errorf("List(%+v) = %q, want only the objects", opts, got)
		}
	}
	if got := listKeys(t, s, &objstore.ListOptions{Delimiter: "/"}); !slices.Equal(got, []string{"d/", "name.", "top"}) {
		t.Errorf("List with a delimiter = %q, want [d/ name. top]: directories without objects are not prefixes", got)
	}

	// Emptied directories go, up to the root.
	s2, dir2 := newStore(t)
	put(t, s2, "a/b/c/k", "x", &objstore.PutOptions{ContentType: "text/plain"})
	put(t, s2, "a/keep", "x", nil)
	if err := s2.Delete(t.Context(), "a/b/c/k"); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir2); !slices.Equal(got, []string{"a", "a/keep"}) {
		t.Errorf("after Delete the directory holds %q, want [a a/keep]", got)
	}
	if err := s2.Delete(t.Context(), "a/keep"); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir2); len(got) != 0 {
		t.Errorf("after deleting every object the directory holds %q", got)
	}
}

// Files that other tools wrote under names K1 would not create are
// objects (rule K3), in the default mode too; a key that would leave the
// root, or name the bookkeeping directory, is refused in either mode,
// and nothing outside the root is touched.
func TestForeignNamesAndEscapes(t *testing.T) {
	ctx := t.Context()
	parent := t.TempDir()
	dir := filepath.Join(parent, "root")
	outside := filepath.Join(parent, "outside")
	for _, p := range []string{outside, filepath.Join(dir, "d", ".objstore.")} {
		if err := os.MkdirAll(p, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o666); err != nil {
		t.Fatal(err)
	}
	foreign := []string{"dots./b.txt", "tail.", "ctl\x01char", "del\x7f/x"}
	if filepath.Separator == '/' {
		foreign = append(foreign, `back\slash`)
	}
	for _, k := range foreign {
		p := filepath.Join(dir, filepath.FromSlash(k))
		os.MkdirAll(filepath.Dir(p), 0o777)
		if err := os.WriteFile(p, []byte(k), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	s, err := file.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(slices.Values(foreign))
	if got := listKeys(t, s, nil); !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
	for _, k := range foreign {
		if a, err := s.Stat(ctx, k); err != nil || a.Key != k || a.Size != int64(len(k)) {
			t.Errorf("Stat(%q) = %+v, %v", k, a, err)
		}
		r, err := s.Get(ctx, k, nil)
		if err != nil {
			t.Fatalf("Get(%q): %v", k, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(got) != k {
			t.Errorf("Get(%q) read %q, %v", k, got, err)
		}
		if _, err := s.Copy(ctx, "copied", k, nil); err != nil {
			t.Errorf("Copy from %q: %v", k, err)
		}
		_, err = s.Put(ctx, k, strings.NewReader("x"), nil)
		wantKind(t, err, objstore.ErrInvalidArgument, fmt.Sprintf("Put(%q) in the portable mode", k))
		if err := s.Delete(ctx, k); err != nil {
			t.Errorf("Delete(%q): %v", k, err)
		}
	}

	native, err := file.New(dir, &file.Options{Keys: objstore.KeysNative})
	if err != nil {
		t.Fatal(err)
	}
	escapes := []string{"..", "../outside/secret", "a/../../outside/secret", "a/..", "./a", "a//b", "a/", "/" + filepath.ToSlash(outside) + "/secret",
		".objstore.", "d/.objstore./x", "a/.objstore.", "a\x00b", ""}
	for _, st := range []objstore.Store{s, native} {
		for _, k := range escapes {
			what := func(op string) string { return fmt.Sprintf("%s(%q)", op, k) }
			_, err := st.Stat(ctx, k)
			wantKind(t, err, objstore.ErrInvalidArgument, what("Stat"))
			_, err = st.Get(ctx, k, nil)
			wantKind(t, err, objstore.ErrInvalidArgument, what("Get"))
			_, err = st.Put(ctx, k, strings.NewReader("overwritten"), nil)
			wantKind(t, err, objstore.ErrInvalidArgument, what("Put"))
			wantKind(t, st.Delete(ctx, k), objstore.ErrInvalidArgument, what("Delete"))
			_, err = st.Copy(ctx, k, "copied", nil)
			wantKind(t, err, objstore.ErrInvalidArgument, what("Copy to"))
			_, err = st.Copy(ctx, "copied2", k, nil)
			wantKind(t, err, objstore.ErrInvalidArgument, what("Copy from"))
		}
	}
	// A keys=native store writes what the file system holds.
	put(t, native, "made./by native", "n", nil)
	if data, err := os.ReadFile(filepath.Join(dir, "made.", "by native")); err != nil || string(data) != "n" {
		t.Errorf("the native key's file holds %q, %v", data, err)
	}
	if got := files(t, outside); !slices.Equal(got, []string{"secret"}) {
		t.Errorf("the directory outside the root now holds %q", got)
	}
	if data, _ := os.ReadFile(filepath.Join(outside, "secret")); string(data) != "secret" {
		t.Errorf("the file outside the root now holds %q", data)
	}
}

// A file changed by another program gets a new ETag, and the sidecar of
// the old version does not describe it.
func TestSidecarNeverDescribesOtherBytes(t *testing.T) {
	ctx := t.Context()
	s, dir := newStore(t)
	a := put(t, s, "k", "mine", &objstore.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"a": "b"}})
	if err := os.WriteFile(filepath.Join(dir, "k"), []byte("theirs"), 0o666); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stat(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if st.ETag == a.ETag || st.Size != 6 || st.ContentType != driver.DefaultContentType || st.Metadata != nil {
		t.Errorf("after another program rewrote the file, Stat = %+v; want a new ETag, the defaults and no metadata", st)
	}
	_, err = s.Put(ctx, "k", strings.NewReader("x"), &objstore.PutOptions{IfMatch: a.ETag})
	wantKind(t, err, objstore.ErrPrecondition, "Put IfMatch the ETag from before the outside write")
}

// A Reader keeps serving the version it opened through an overwrite and a
// Delete.
func TestReaderSurvivesOverwrite(t *testing.T) {
	ctx := t.Context()
	s, _ := newStore(t)
	a := put(t, s, "k", "first version", nil)
	r, err := s.Get(ctx, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	put(t, s, "k", "second", nil)
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "first version" || r.Attrs.ETag != a.ETag {
		t.Errorf("the Reader served %q (ETag %s), %v; want the first version", got, r.Attrs.ETag, err)
	}
}

// IfMatch is atomic across Store handles, even ones rooted at different
// directories of the same tree.
func TestIfMatchRaceAcrossHandles(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	outer, _ := file.New(dir, nil)
	base := put(t, outer, "p/k", "base", nil)
	inner, _ := file.New(filepath.Join(dir, "p"), nil)
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	// Every body ends when start is closed, so the commits start together.
	start := make(chan struct{})
	for i := range n {
		s := objstore.Store(outer)
		key := "p/k"
		if i%2 == 1 {
			s, key = inner, "k"
		}
		body := &gatedReader{gate: start, r: strings.NewReader(fmt.Sprint("racer ", i))}
		wg.Go(func() {
			_, errs[i] = s.Put(ctx, key, body, &objstore.PutOptions{IfMatch: base.ETag})
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, objstore.ErrPrecondition):
			t.Errorf("racer %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d racers won, want exactly 1", wins)
	}
}

// A missing root is a missing bucket, unless Create makes it an empty
// store that the first write creates.
func TestMissingRoot(t *testing.T) {
	ctx := t.Context()
	missing := filepath.Join(t.TempDir(), "a", "b")
	s, _ := file.New(missing, nil)
	_, err := s.Stat(ctx, "k")
	wantKind(t, err, objstore.ErrBucketNotFound, "Stat in a missing root")
	if !strings.Contains(err.Error(), "create=true") {
		t.Errorf("the error %q does not say how to create the root", err)
	}
	_, err = s.Put(ctx, "k", strings.NewReader("x"), nil)
	wantKind(t, err, objstore.ErrBucketNotFound, "Put in a missing root")
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a Put without Create made the root: %v", err)
	}

	c, _ := file.New(missing, &file.Options{Create: true})
	_, err = c.Stat(ctx, "k")
	wantKind(t, err, objstore.ErrNotFound, "Stat in a missing root with Create")
	if err := c.Delete(ctx, "k"); err != nil {
		t.Errorf("Delete in a missing root with Create: %v", err)
	}
	if got := listKeys(t, c, nil); len(got) != 0 {
		t.Errorf("List in a missing root with Create = %q", got)
	}
	put(t, c, "k", "x", nil)
	if _, err := s.Stat(ctx, "k"); err != nil {
		t.Errorf("the store without Create does not see the created root: %v", err)
	}
}

func TestOpenURL(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	tests := []struct {
		url string
		ok  bool
	}{
		{fileURL(dir, ""), true},
		{fileURL(dir, "create=true"), true},
		{"file://localhost" + filepath.ToSlash(dir), true},
		{fileURL(dir, "create=maybe"), false},
		{fileURL(dir, "region=x"), false},
		{"file://host" + filepath.ToSlash(dir), false},
		{"file://", false},
		{"file:relative/dir", false},
		{"file:///a//b", false},
		{"file:///a/./b", false},
		{"file:///a/../b", false},
	}
	for _, tt := range tests {
		s, err := objstore.Open(ctx, tt.url)
		switch {
		case tt.ok && err != nil:
			t.Errorf("Open(%q): %v", tt.url, err)
		case !tt.ok && !errors.Is(err, objstore.ErrInvalidArgument):
			t.Errorf("Open(%q) = %v, want ErrInvalidArgument", tt.url, err)
		}
		if s != nil {
			s.Close()
		}
	}
}

// The URL path is the root directory, and a deeper path is a key prefix
// of it: both views agree.
func TestURLPathIsKeyPrefix(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	outer, err := objstore.Open(ctx, fileURL(dir, ""))
	if err != nil {
		t.Fatal(err)
	}
	inner, err := objstore.Open(ctx, fileURL(filepath.Join(dir, "p", "q"), "create=true"))
	if err != nil {
		t.Fatal(err)
	}
	a := put(t, inner, "k", "x", &objstore.PutOptions{ContentType: "text/plain"})
	st, err := outer.Stat(ctx, "p/q/k")
	if err != nil || st.ETag != a.ETag || st.ContentType != "text/plain" {
		t.Errorf("the outer store sees p/q/k as %+v, %v; want what the inner store wrote", st, err)
	}
	if got := listKeys(t, outer, nil); !slices.Equal(got, []string{"p/q/k"}) {
		t.Errorf("outer List = %q", got)
	}
	// Keys count the root's path toward the 1024 bytes, so that a key
	// of the inner store is a valid key of the outer one.
	long := strings.Repeat("k/", 600)[:driver.MaxKeyLen-3] // valid alone: 1021 bytes, ends in "k"
	if msg := objstore.CheckKey(long); msg != "" {
		t.Fatalf("the test's key is invalid by itself: %s", msg)
	}
	_, err = inner.Put(ctx, long, bytes.NewReader(nil), nil)
	if !errors.Is(err, objstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "prefix") {
		t.Errorf("Put of a key that is too long counted with the root's path: %v", err)
	}
}

// gatedReader serves r, but ends only once gate is closed.
type gatedReader struct {
	gate <-chan struct{}
	r    io.Reader
}

func (g *gatedReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err == io.EOF {
		<-g.gate
	}
	return n, err
}

// TestRootNotAKey opens stores on directories whose names are no portable
// key segment: the root is where the objects live, not a key prefix, so
// only its length counts toward keys (rule K1), never its name.
func TestRootNotAKey(t *testing.T) {
	for _, name := range []string{"dots.", "back\\slash", "ctl\x01char"} {
		dir := filepath.Join(t.TempDir(), name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s, err := objstore.Open(t.Context(), "file://"+(&url.URL{Path: filepath.ToSlash(dir)}).EscapedPath())
		if err != nil {
			t.Fatalf("Open of the directory %q: %v", name, err)
		}
		if _, err := s.Put(t.Context(), "k", strings.NewReader("x"), nil); err != nil {
			t.Fatalf("Put under the directory %q: %v", name, err)
		}
		if got, _, err := objstore.ReadAll(t.Context(), s, "k"); err != nil || string(got) != "x" {
			t.Fatalf("ReadAll under the directory %q: %q, %v", name, got, err)
		}
	}
	// Its length still counts: a key that fits alone does not fit under
	// a long root.
	long := filepath.Join(t.TempDir(), strings.Repeat("d", 200), strings.Repeat("e", 200))
	if err := os.MkdirAll(long, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := file.New(long, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := strings.Repeat("k/", 300) + "k"
	if _, err := s.Put(t.Context(), key, strings.NewReader("x"), nil); !errors.Is(err, objstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "prefix") {
		t.Fatalf("Put of a %d-byte key under a %d-byte root = %v; want ErrInvalidArgument counting the root", len(key), len(long), err)
	}
}

// TestListLeavesOutUnaddressable: a name another tool wrote that the
// driver cannot address as a key (a segment it reserves for its own
// bookkeeping, here a file) is left out of listings, which yield only
// keys that Stat and Get can read.
func TestListLeavesOutUnaddressable(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(root, "sub", ".objstore."), filepath.Join(root, "short")} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := file.New(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for e, err := range s.List(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, e.Key)
		if _, err := s.Stat(t.Context(), e.Key); err != nil {
			t.Errorf("List yielded %q, which Stat refuses: %v", e.Key, err)
		}
	}
	if len(keys) != 1 || keys[0] != "short" {
		t.Errorf("List yielded %q; want only \"short\"", keys)
	}
}
