package objstore_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
)

func TestCheckKey(t *testing.T) {
	valid := []string{"a", "a/b", "with space", "é", "a/..b", "x.y", "\ufffd", strings.Repeat("k", 255), strings.Repeat(strings.Repeat("k", 255)+"/", 3) + strings.Repeat("k", 254) + "/k", "%2F", "emoji-\U0001F600"}
	invalid := []string{"x.", "a./b", "a/...", "a\uffff", "a\U0001fffe", "a\ufdd0", "", "/a", "a/", "a//b", ".", "..", "a/./b", "a/..", `a\b`, "a\x00", "a\x1fb", "a\x7f", "a\u0080", "\xff", strings.Repeat("k", 256), "a/" + strings.Repeat("k", 256) + "/b", strings.Repeat(strings.Repeat("k", 255)+"/", 4) + "kkkkk"}
	for _, k := range valid {
		if msg := objstore.CheckKey(k); msg != "" {
			t.Errorf("CheckKey(%.30q) = %q, want valid", k, msg)
		}
	}
	for _, k := range invalid {
		if objstore.CheckKey(k) == "" {
			t.Errorf("CheckKey(%.30q) accepted an invalid key", k)
		}
	}
}

func TestNamespacePrefixCountsTowardTheLimit(t *testing.T) {
	ns, err := objstore.NewNamespace("s3", &url.URL{Path: "/p/q"})
	if err != nil || ns.Prefix != "p/q/" {
		t.Fatalf("NewNamespace = %+v, %v", ns, err)
	}
	long := strings.Repeat(strings.Repeat("k", 254)+"/", 3) + strings.Repeat("k", 255) // 1020 bytes
	if full, err := ns.Key("put", long); err != nil || full != "p/q/"+long {
		t.Errorf("a key that fills the limit with the prefix: %v", err)
	}
	if _, err := ns.Key("put", long+"/k"); !errors.Is(err, objstore.ErrInvalidArgument) {
		t.Errorf("a key over the limit with the prefix: %v", err)
	}
	if got := ns.Rel("p/q/a/b"); got != "a/b" {
		t.Errorf("Rel = %q", got)
	}
}

func TestCheckMetadata(t *testing.T) {
	ok := []map[string]string{nil, {"a": "b"}, {"Content_Lang": "en US", "x9": "!~"}, {"k": strings.Repeat("v", 2048-11-1)}}
	bad := []map[string]string{{"9a": "v"}, {"a-b": "v"}, {"a": ""}, {"a": " v"}, {"a": "v "}, {"a": "é"}, {"A": "1", "a": "2"}, {"k": strings.Repeat("v", 2048-11)}, {"a": "1", "b": strings.Repeat("v", 2048-2*11-2)}}
	for _, m := range ok {
		if msg := objstore.CheckMetadata(m); msg != "" {
			t.Errorf("CheckMetadata(%.40q) = %q", m, msg)
		}
	}
	for _, m := range bad {
		if objstore.CheckMetadata(m) == "" {
			t.Errorf("CheckMetadata(%.40q) accepted it", m)
		}
	}
	if got := objstore.NormalizeMetadata(map[string]string{"Ab": "C"}); got["ab"] != "C" || len(got) != 1 {
		t.Errorf("NormalizeMetadata = %v", got)
	}
}

func TestNamespaceOptions(t *testing.T) {
	ns := objstore.Namespace{Driver: "mem", Prefix: "base/"}
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"put IfAbsent+IfMatch", func() error {
			_, err := ns.Put("k", &objstore.PutOptions{IfAbsent: true, IfMatch: `"x"`})
			return err
		}()},
		{"put unquoted IfMatch", func() error { _, err := ns.Put("k", &objstore.PutOptions{IfMatch: "x"}); return err }()},
		{"put negative PartSize", func() error { _, err := ns.Put("k", &objstore.PutOptions{PartSize: -1}); return err }()},
		{"put control in ContentType", func() error { _, err := ns.Put("k", &objstore.PutOptions{ContentType: "a\nb"}); return err }()},
		{"get negative offset", func() error {
			_, err := ns.Get("k", &objstore.GetOptions{Range: &objstore.Range{Offset: -1}})
			return err
		}()},
		{"copy onto itself", func() error { _, _, err := ns.Copy("k", "k", nil); return err }()},
		{"list delimiter", func() error { _, err := ns.List(&objstore.ListOptions{Delimiter: "-"}); return err }()},
		{"list negative page", func() error { _, err := ns.List(&objstore.ListOptions{PageSize: -1}); return err }()},
	} {
		if !errors.Is(tt.err, objstore.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", tt.name, tt.err)
		}
	}
	o, err := ns.List(&objstore.ListOptions{Prefix: "a", StartAfter: "a/b", PageSize: 5000})
	if err != nil || o.Prefix != "base/a" || o.StartAfter != "base/a/b" || o.PageSize != 1000 {
		t.Errorf("List options = %+v, %v", o, err)
	}
	if _, err := ns.Put("k", &objstore.PutOptions{IfMatch: `W/"weak"`}); err != nil {
		t.Errorf("a weak quoted ETag was refused: %v", err)
	}
}

func TestResolveRange(t *testing.T) {
	ns := objstore.Namespace{Driver: "mem"}
	for _, tt := range []struct {
		r            *objstore.Range
		size         int64
		off, n       int64
		invalidRange bool
	}{
		{nil, 10, 0, 10, false},
		{&objstore.Range{Offset: 2, Length: 3}, 10, 2, 3, false},
		{&objstore.Range{Offset: 8, Length: 5}, 10, 8, 2, false},
		{&objstore.Range{Offset: 3, Length: -1}, 10, 3, 7, false},
		{&objstore.Range{Offset: 10, Length: -1}, 10, 10, 0, false},
		{&objstore.Range{Offset: 0, Length: 0}, 0, 0, 0, false},
		{&objstore.Range{Offset: 11, Length: 1}, 10, 0, 0, true},
	} {
		off, n, err := ns.ResolveRange("k", tt.r, tt.size)
		if tt.invalidRange != errors.Is(err, objstore.ErrInvalidRange) || (!tt.invalidRange && (off != tt.off || n != tt.n)) {
			t.Errorf("ResolveRange(%+v, %d) = %d, %d, %v", tt.r, tt.size, off, n, err)
		}
	}
}

func TestQuoteETag(t *testing.T) {
	for in, want := range map[string]string{"": "", "abc": `"abc"`, `"abc"`: `"abc"`, `W/"abc"`: `W/"abc"`, "0x8D": `"0x8D"`} {
		if got := objstore.QuoteETag(in); got != want {
			t.Errorf("QuoteETag(%q) = %q, want %q", in, got, want)
		}
	}
}
