package s3

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/objstore-go/objstore"
)

func TestCopySource(t *testing.T) {
	tests := []struct{ key, want string }{
		{"plain/key.txt", "b/plain/key.txt"},
		{"with space", "b/with%20space"},
		{"plus+sign", "b/plus%2Bsign"},
		{"dir/a b+c/d", "b/dir/a%20b%2Bc/d"},
		{"per%cent", "b/per%25cent"},
		{"q?h#a&e=s;c:@$,", "b/q%3Fh%23a%26e%3Ds%3Bc%3A%40%24%2C"},
		{"caf\u00e9/\u65e5", "b/caf%C3%A9/%E6%97%A5"},
		{"un-re_se.rv~ed", "b/un-re_se.rv~ed"},
		{"a/b%2Fc", "b/a/b%252Fc"},
	}
	for _, tt := range tests {
		if got := copySource("b", tt.key); got != tt.want {
			t.Errorf("copySource(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

// readSum returns the SHA-256 of the object at key.
func readSum(t *testing.T, s *Store, key string) [32]byte {
	t.Helper()
	r, err := s.Get(t.Context(), key, nil)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// TestCopyEscapedKeys copies between keys whose copy source needs
// escaping: a "+" read as a space, or a space written as "+", would name
// another key.
func TestCopyEscapedKeys(t *testing.T) { eachServer(t, testCopyEscapedKeys) }

func testCopyEscapedKeys(t *testing.T) {
	s, _ := openTest(t, nil)
	ctx := t.Context()
	for _, key := range []string{"a b+c", "dir/with space/plus+sign", "x%2By", "q?a#b"} {
		for _, ifAbsent := range []bool{false, true} {
			data := []byte("content of " + key)
			if _, err := s.Put(ctx, key, bytes.NewReader(data), nil); err != nil {
				t.Fatal(err)
			}
			// The key a "+" read as a space would name, to catch a copy
			// of the wrong object.
			if decoy := strings.ReplaceAll(key, "+", " "); decoy != key {
				if _, err := s.Put(ctx, decoy, strings.NewReader("decoy"), nil); err != nil {
					t.Fatal(err)
				}
			}
			dst := key + "+copy " + map[bool]string{false: "plain", true: "ifabsent"}[ifAbsent]
			if _, err := s.Copy(ctx, dst, key, &objstore.CopyOptions{IfAbsent: ifAbsent}); err != nil {
				t.Fatalf("Copy(%q, %q): %v", dst, key, err)
			}
			got, _, err := objstore.ReadAll(ctx, s, dst)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("Copy(%q, %q) wrote %q (%v), want %q", dst, key, got, err, data)
			}
		}
	}
}

// TestCopyServerSide checks every kind of copy moves no object bytes
// through the client: the request and response bodies that cross its
// transport are a few XML documents, for a 12 MiB object.
func TestCopyServerSide(t *testing.T) { eachServer(t, testCopyServerSide) }

func testCopyServerSide(t *testing.T) {
	s, rec := openTest(t, &Options{CopyThreshold: 6 << 20, CopyPartSize: 5 << 20})
	ctx := t.Context()
	const large = 12<<20 + 3
	const limit = 16 << 10 // bytes of XML the copies may move
	meta := map[string]string{"owner": "me"}
	srcAttrs := map[string]objstore.Attrs{}
	for name, size := range map[string]int64{"small": 1 << 20, "large": large, "empty": 0} {
		body, _ := stream(5, size)
		a, err := s.Put(ctx, name, body, &objstore.PutOptions{ContentType: "text/x-src", Metadata: meta, PartSize: 5 << 20})
		if err != nil {
			t.Fatal(err)
		}
		srcAttrs[name] = a
	}
	tests := []struct {
		name string
		src  string
		opts objstore.CopyOptions
		ops  map[string]int // the requests the copy sends
	}{
		{"CopyObject", "small", objstore.CopyOptions{}, map[string]int{"HeadObject": 1, "CopyObject": 1}},
		{"CopyObject IfMatch", "small", objstore.CopyOptions{IfMatch: "<etag>"}, map[string]int{"HeadObject": 1, "CopyObject": 1}},
		{"UploadPartCopy over the threshold", "large", objstore.CopyOptions{},
			map[string]int{"HeadObject": 1, "CreateMultipartUpload": 1, "UploadPartCopy": 3, "CompleteMultipartUpload": 1}},
		{"UploadPartCopy IfAbsent", "small", objstore.CopyOptions{IfAbsent: true},
			map[string]int{"HeadObject": 1, "CreateMultipartUpload": 1, "UploadPartCopy": 1, "CompleteMultipartUpload": 1}},
		{"UploadPartCopy IfAbsent over the threshold", "large", objstore.CopyOptions{IfAbsent: true, IfMatch: "<etag>"},
			map[string]int{"HeadObject": 1, "CreateMultipartUpload": 1, "UploadPartCopy": 3, "CompleteMultipartUpload": 1}},
		{"empty IfAbsent", "empty", objstore.CopyOptions{IfAbsent: true}, map[string]int{"HeadObject": 1, "PutObject": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := "dst-" + strings.ReplaceAll(tt.name, " ", "-")
			if tt.opts.IfMatch != "" {
				tt.opts.IfMatch = srcAttrs[tt.src].ETag
			}
			rec.reset()
			a, err := s.Copy(ctx, dst, tt.src, &tt.opts)
			if err != nil {
				t.Fatalf("Copy: %v", err)
			}
			ops, sent, received := rec.snapshot()
			if sent > limit || received > limit {
				t.Errorf("the copy sent %d and received %d body bytes; want at most %d each, for a %d-byte object", sent, received, limit, srcAttrs[tt.src].Size)
			}
			got := map[string]int{}
			for _, op := range ops {
				got[op]++
			}
			if !maps.Equal(got, tt.ops) {
				t.Errorf("the copy sent %v; want %v", ops, tt.ops)
			}
			st, err := s.Stat(ctx, dst)
			if err != nil {
				t.Fatal(err)
			}
			src := srcAttrs[tt.src]
			if a.Key != dst || a.Size != src.Size || a.Size != st.Size || a.ETag != st.ETag ||
				a.ContentType != "text/x-src" || st.ContentType != "text/x-src" || !maps.Equal(a.Metadata, meta) || !maps.Equal(st.Metadata, meta) {
				t.Errorf("Copy returned %+v; Stat says %+v", a, st)
			}
			if !a.ModTime.Equal(st.ModTime) && st.ModTime.Sub(a.ModTime).Abs() > 1e9 {
				t.Errorf("Copy's ModTime %v, Stat's %v", a.ModTime, st.ModTime)
			}
			if readSum(t, s, dst) != readSum(t, s, tt.src) {
				t.Errorf("dst's bytes differ from src's")
			}
		})
	}
}

// TestCopySourceChanges overwrites src between the copy's HeadObject and
// its CopyObject. The copy is pinned to the ETag it saw: without IfMatch
// it starts again and copies the new src whole; with IfMatch the old ETag
// no longer matches.
func TestCopySourceChanges(t *testing.T) { eachServer(t, testCopySourceChanges) }

func testCopySourceChanges(t *testing.T) {
	s, rec := openTest(t, nil)
	ctx := t.Context()
	for _, withIfMatch := range []bool{false, true} {
		old, err := s.Put(ctx, "src", strings.NewReader("old"), &objstore.PutOptions{ContentType: "text/old"})
		if err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		rec.mu.Lock()
		rec.tamper = func(req *http.Request, resp *http.Response) {
			if req.Method != http.MethodHead {
				return
			}
			once.Do(func() {
				if _, err := s.Put(ctx, "src", strings.NewReader("new"), &objstore.PutOptions{ContentType: "text/new"}); err != nil {
					t.Errorf("overwriting src: %v", err)
				}
			})
		}
		rec.mu.Unlock()
		rec.reset()
		var opts objstore.CopyOptions
		if withIfMatch {
			opts.IfMatch = old.ETag
		}
		a, err := s.Copy(ctx, "dst", "src", &opts)
		rec.mu.Lock()
		rec.tamper = nil
		rec.mu.Unlock()
		ops, _, _ := rec.snapshot()
		if withIfMatch {
			if !errors.Is(err, objstore.ErrPrecondition) {
				t.Errorf("Copy IfMatch the ETag src had: %v; want ErrPrecondition (requests %v)", err, ops)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Copy: %v (requests %v)", err, ops)
		}
		want := []string{"HeadObject", "PutObject", "CopyObject", "HeadObject", "CopyObject"}
		if !slices.Equal(ops, want) {
			t.Errorf("requests %v; want %v", ops, want)
		}
		got, st, err := objstore.ReadAll(ctx, s, "dst")
		if err != nil || string(got) != "new" || st.ContentType != "text/new" || a.ContentType != "text/new" || a.Size != 3 {
			t.Errorf("dst holds %q, %q (%v); Copy returned %+v; want the new src", got, st.ContentType, err, a)
		}
		if err := s.Delete(ctx, "dst"); err != nil {
			t.Fatal(err)
		}
	}
}
