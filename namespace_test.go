package objstore

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/objstore-go/objstore/driver"
)

func TestCheckKey(t *testing.T) {
	valid := []string{"a", "a/b", "with space", "é", "a/..b", "x.y", "\ufffd", strings.Repeat("k", 255), strings.Repeat(strings.Repeat("k", 255)+"/", 3) + strings.Repeat("k", 254) + "/k", "%2F", "emoji-\U0001F600"}
	invalid := []string{"x.", "a./b", "a/...", "a\uffff", "a\U0001fffe", "a\ufdd0", "", "/a", "a/", "a//b", ".", "..", "a/./b", "a/..", `a\b`, "a\x00", "a\x1fb", "a\x7f", "a\u0080", "\xff", strings.Repeat("k", 256), "a/" + strings.Repeat("k", 256) + "/b", strings.Repeat(strings.Repeat("k", 255)+"/", 4) + "kkkkk"}
	for _, k := range valid {
		if msg := CheckKey(k); msg != "" {
			t.Errorf("CheckKey(%.30q) = %q, want valid", k, msg)
		}
	}
	for _, k := range invalid {
		if CheckKey(k) == "" {
			t.Errorf("CheckKey(%.30q) accepted an invalid key", k)
		}
	}
}

func TestNamespacePrefixCountsTowardTheLimit(t *testing.T) {
	ns, err := newNamespace("s3", &url.URL{Path: "/p/q"})
	if err != nil || ns.Prefix != "p/q/" {
		t.Fatalf("newNamespace = %+v, %v", ns, err)
	}
	long := strings.Repeat(strings.Repeat("k", 254)+"/", 3) + strings.Repeat("k", 255) // 1020 bytes
	if full, err := ns.Key("put", long); err != nil || full != "p/q/"+long {
		t.Errorf("a key that fills the limit with the prefix: %v", err)
	}
	if _, err := ns.Key("put", long+"/k"); !errors.Is(err, ErrInvalidArgument) {
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
		if msg := checkPortableMetadata(m); msg != "" {
			t.Errorf("checkPortableMetadata(%.40q) = %q", m, msg)
		}
	}
	for _, m := range bad {
		if checkPortableMetadata(m) == "" {
			t.Errorf("checkPortableMetadata(%.40q) accepted it", m)
		}
	}
	if got := driver.NormalizeMetadata(map[string]string{"Ab": "C"}); got["ab"] != "C" || len(got) != 1 {
		t.Errorf("driver.NormalizeMetadata = %v", got)
	}
}

func TestNamespaceOptions(t *testing.T) {
	ns := namespace{Driver: "mem", Prefix: "base/"}
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"put IfAbsent+IfMatch", func() error {
			_, err := ns.Put("k", &PutOptions{IfAbsent: true, IfMatch: `"x"`})
			return err
		}()},
		{"put unquoted IfMatch", func() error { _, err := ns.Put("k", &PutOptions{IfMatch: "x"}); return err }()},
		{"put negative PartSize", func() error { _, err := ns.Put("k", &PutOptions{PartSize: -1}); return err }()},
		{"put control in ContentType", func() error { _, err := ns.Put("k", &PutOptions{ContentType: "a\nb"}); return err }()},
		{"get negative offset", func() error {
			_, err := ns.Get("k", &GetOptions{Range: &Range{Offset: -1}})
			return err
		}()},
		{"copy onto itself", func() error { _, _, err := ns.Copy("k", "k", nil); return err }()},
		{"list delimiter", func() error { _, err := ns.List(&ListOptions{Delimiter: "-"}); return err }()},
		{"list negative page", func() error { _, err := ns.List(&ListOptions{PageSize: -1}); return err }()},
	} {
		if !errors.Is(tt.err, ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", tt.name, tt.err)
		}
	}
	o, err := ns.List(&ListOptions{Prefix: "a", StartAfter: "a/b", PageSize: 5000})
	if err != nil || o.Prefix != "base/a" || o.StartAfter != "base/a/b" || o.PageSize != 1000 {
		t.Errorf("List options = %+v, %v", o, err)
	}
	if _, err := ns.Put("k", &PutOptions{IfMatch: `W/"weak"`}); err != nil {
		t.Errorf("a weak quoted ETag was refused: %v", err)
	}
}

func TestResolveRange(t *testing.T) {
	ns := namespace{Driver: "mem"}
	for _, tt := range []struct {
		r            *Range
		size         int64
		off, n       int64
		invalidRange bool
	}{
		{nil, 10, 0, 10, false},
		{&Range{Offset: 2, Length: 3}, 10, 2, 3, false},
		{&Range{Offset: 8, Length: 5}, 10, 8, 2, false},
		{&Range{Offset: 3, Length: -1}, 10, 3, 7, false},
		{&Range{Offset: 10, Length: -1}, 10, 10, 0, false},
		{&Range{Offset: 0, Length: 0}, 0, 0, 0, false},
		{&Range{Offset: 11, Length: 1}, 10, 0, 0, true},
	} {
		off, n, err := ns.ResolveRange("k", tt.r, tt.size)
		if tt.invalidRange != errors.Is(err, ErrInvalidRange) || (!tt.invalidRange && (off != tt.off || n != tt.n)) {
			t.Errorf("ResolveRange(%+v, %d) = %d, %d, %v", tt.r, tt.size, off, n, err)
		}
	}
}

func TestQuoteETag(t *testing.T) {
	for in, want := range map[string]string{"": "", "abc": `"abc"`, `"abc"`: `"abc"`, `W/"abc"`: `W/"abc"`, "0x8D": `"0x8D"`} {
		if got := driver.QuoteETag(in); got != want {
			t.Errorf("driver.QuoteETag(%q) = %q, want %q", in, got, want)
		}
	}
}

// Reads address what the backend holds (rule K3); writes create portable
// keys (rule K1), or with KeysNative what the backend holds (rule K4).
func TestNamespaceReadsAreLenient(t *testing.T) {
	s3 := driver.KeyRules{Backend: "S3", MaxLen: 1024}
	azure := driver.KeyRules{Backend: "Azure Blob", MaxLen: 1024, UTF16: true, NoControl: true, NoBackslash: true, NoDotEnd: true, IdentMetadata: true}
	file := driver.KeyRules{Backend: "the file system", MaxLen: 4095, NoLeadingSlash: true, NoTrailingSlash: true, CleanSegments: true, MaxSegment: 255, Reserved: []string{"."}}
	emoji := strings.Repeat("\U0001F600", 512) // 2048 bytes, 1024 UTF-16 code units
	for _, tt := range []struct {
		name     string
		rules    driver.KeyRules
		read, no []string // keys Stat accepts and refuses
	}{
		{"unset rules are K1", driver.KeyRules{}, []string{"a/b"}, []string{"dots./b.txt", "a//b", "/lead", "dir/"}},
		{"S3", s3, []string{"dots./b.txt", "a//b", "/lead", "dir/", "a/../b", ".", `a\b`, "a\x01b", "a\uffff"},
			[]string{strings.Repeat("k", 1025), emoji}},
		{"Azure", azure, []string{"a//b", "/lead", "dir/", "a/.b", emoji},
			[]string{"dots./b.txt", "tail.", "a/./b", "a/../b", "..", `a\b`, "a\x01b", "a\uffff", emoji + "k"}},
		{"S3-compatible server", driver.KeyRules{Backend: "server", MaxLen: 1024, NoLeadingSlash: true, CleanSegments: true, NoControl: true},
			[]string{"dots./b.txt", "dir/", "a/.b", `a\b`}, []string{"/lead", "a//b", "dir//", "a/./b", "a/../b", "./a", "a\x01b", "//a"}},
		{"file", file, []string{"dots./b.txt", "tail.", "a\x01b", `a\b`, strings.Repeat("k/", 1000) + "k"},
			[]string{"a//b", "/lead", "dir/", "..", "../x", "a/../../x", "./x", ".", "d/./x", strings.Repeat("k", 256)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, mode := range []KeyMode{KeysPortable, KeysNative} {
				ns := namespace{Driver: "x", Keys: mode, Native: tt.rules}
				for _, k := range tt.read {
					full, err := ns.Stat(k)
					if err != nil || full != k {
						t.Errorf("%v: Stat(%.30q) = %q, %v; want it addressed", mode, k, full, err)
					}
					for _, op := range []func() error{
						func() error { _, err := ns.Get(k, nil); return err },
						func() error { _, err := ns.Delete(k); return err },
						func() error { _, _, err := ns.Copy("dst", k, nil); return err },
					} {
						if err := op(); err != nil {
							t.Errorf("%v: a read of %.30q: %v", mode, k, err)
						}
					}
					_, err = ns.Put(k, nil)
					_, _, cerr := ns.Copy(k, "src", nil)
					switch {
					case mode == KeysNative && tt.rules.MaxLen > 0:
						if err != nil || cerr != nil {
							t.Errorf("%v: Put(%.30q) = %v, Copy to it = %v; want both accepted", mode, k, err, cerr)
						}
					case CheckKey(k) != "":
						if !errors.Is(err, ErrInvalidArgument) || !errors.Is(cerr, ErrInvalidArgument) {
							t.Errorf("%v: Put(%.30q) = %v, Copy to it = %v; want ErrInvalidArgument", mode, k, err, cerr)
						} else if tt.rules.MaxLen > 0 && !strings.Contains(err.Error(), "keys=native") {
							t.Errorf("%v: Put(%.30q): %v; the error does not point to keys=native", mode, k, err)
						}
					}
				}
				for _, k := range append(tt.no, "", "a\x00b", "a\xffb") {
					if _, err := ns.Stat(k); !errors.Is(err, ErrInvalidArgument) {
						t.Errorf("%v: Stat(%.30q) = %v, want ErrInvalidArgument", mode, k, err)
					}
					if _, err := ns.Put(k, nil); !errors.Is(err, ErrInvalidArgument) {
						t.Errorf("%v: Put(%.30q) = %v, want ErrInvalidArgument", mode, k, err)
					}
				}
			}
		})
	}
	// The prefix counts toward the limit, in the backend's units.
	ns := namespace{Driver: "azblob", Prefix: "p/", Native: azure}
	if _, err := ns.Stat(emoji[:len(emoji)-8]); err != nil {
		t.Errorf("a key of 1022 UTF-16 code units under a 2-byte prefix: %v", err)
	}
	if _, err := ns.Stat(emoji); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "prefix") {
		t.Errorf("a key of 1024 UTF-16 code units under a 2-byte prefix: %v", err)
	}
}

func TestNamespaceListStrings(t *testing.T) {
	for _, tt := range []struct {
		rules  driver.KeyRules
		prefix string
		ok     bool
	}{
		{driver.KeyRules{}, "a\x01", false},
		{driver.KeyRules{Backend: "S3", MaxLen: 1024}, "a\x01", true},
		{driver.KeyRules{Backend: "S3", MaxLen: 1024}, `a\`, true},
		{driver.KeyRules{Backend: "S3", MaxLen: 1024}, "a\x00", false},
		{driver.KeyRules{Backend: "S3", MaxLen: 1024}, "\xff", false},
		{driver.KeyRules{Backend: "Azure", MaxLen: 1024, NoControl: true, NoBackslash: true}, "a\x01", false},
		{driver.KeyRules{Backend: "Azure", MaxLen: 1024, NoControl: true, NoBackslash: true}, `a\`, false},
	} {
		ns := namespace{Driver: "x", Native: tt.rules}
		_, err := ns.List(&ListOptions{Prefix: tt.prefix, StartAfter: tt.prefix})
		if (err == nil) != tt.ok {
			t.Errorf("List with Prefix %q on %s: %v, want ok=%v", tt.prefix, tt.rules.Backend, err, tt.ok)
		}
	}
}

// Metadata that other tools write is refused by the default mode (rule
// M1) and written in KeysNative mode where the backend holds it; values
// follow M1 in both.
func TestNamespaceNativeMetadata(t *testing.T) {
	s3 := driver.KeyRules{Backend: "S3", MaxLen: 1024}
	azure := driver.KeyRules{Backend: "Azure Blob", MaxLen: 1024, IdentMetadata: true}
	for _, tt := range []struct {
		mode  KeyMode
		rules driver.KeyRules
		md    map[string]string
		ok    bool
	}{
		{KeysPortable, s3, map[string]string{"my-key": "v"}, false},
		{KeysNative, s3, map[string]string{"my-key": "v", "a.b": "v", "UP": "v"}, true},
		{KeysNative, s3, map[string]string{"a b": "v"}, false},
		{KeysNative, s3, map[string]string{"a:b": "v"}, false},
		{KeysNative, s3, map[string]string{"My-Key": "1", "my-key": "2"}, false},
		{KeysNative, s3, map[string]string{"k": "a\nb"}, false},
		{KeysNative, s3, map[string]string{"k": ""}, false},
		{KeysNative, azure, map[string]string{"my-key": "v"}, false},
		{KeysNative, azure, map[string]string{"Upper_Case": "v"}, true},
		{KeysNative, driver.KeyRules{}, map[string]string{"my-key": "v"}, false},
	} {
		ns := namespace{Driver: "x", Keys: tt.mode, Native: tt.rules}
		_, err := ns.Put("k", &PutOptions{Metadata: tt.md})
		if (err == nil) != tt.ok {
			t.Errorf("%v on %s: Put with Metadata %q: %v, want ok=%v", tt.mode, tt.rules.Backend, tt.md, err, tt.ok)
		}
		if tt.mode == KeysPortable && err != nil && !strings.Contains(err.Error(), "keys=native") {
			t.Errorf("Put with Metadata %q: %v; the error does not point to keys=native", tt.md, err)
		}
	}
}

func TestParseKeyMode(t *testing.T) {
	for v, want := range map[string]KeyMode{"portable": KeysPortable, "native": KeysNative} {
		if m, err := driver.ParseKeyMode(v); err != nil || m != want || m.String() != v {
			t.Errorf("driver.ParseKeyMode(%q) = %v, %v", v, m, err)
		}
	}
	for _, v := range []string{"", "Native", "true"} {
		if _, err := driver.ParseKeyMode(v); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "portable") {
			t.Errorf("driver.ParseKeyMode(%q) = %v, want ErrInvalidArgument naming the modes", v, err)
		}
	}
	if driver.CheckKeyMode(KeyMode(7)) == "" {
		t.Error("driver.CheckKeyMode accepted KeyMode(7)")
	}
}
