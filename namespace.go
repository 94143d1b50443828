package objstore

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/objstore-go/objstore/driver"
)

// namespace is the validator every driver shares. It maps the keys a caller
// gives to the backend's keys (the store's URL prefix joined in front) and
// rejects, before any request is sent, everything the contract says is
// invalid. Its methods return *Error values of class ErrInvalidArgument.
type namespace struct {
	Driver string // the URL scheme, used in error messages
	Prefix string // "" or a valid key ending in "/"
	// Keys is the rule for the names the store creates: KeysPortable (rule
	// K1), the default, or KeysNative (rule K4).
	Keys KeyMode
	// Native is what the backend can address: the keys Stat, Get, Delete
	// and Copy's src accept (rule K3). The zero value addresses the
	// portable keys only.
	Native driver.KeyRules
}

// newNamespace returns the namespace for a store opened from u: the URL's
// path, if any, becomes the key prefix (rule U3).
func newNamespace(driver string, u *url.URL) (namespace, error) {
	ns := namespace{Driver: driver}
	p := strings.TrimPrefix(u.Path, "/")
	if p == "" {
		return ns, nil
	}
	p = strings.TrimSuffix(p, "/")
	if msg := checkKey(p, 0); msg != "" {
		return ns, invalidArgument(driver, "open", "", fmt.Sprintf("the URL path %q is not a valid key prefix: %s", u.Path, msg))
	}
	ns.Prefix = p + "/"
	return ns, nil
}

// Key validates a key the store creates (Put's key, Copy's dst) and
// returns the backend's key for it: a portable key (rule K1), or in
// KeysNative mode any key the backend can address (rule K4). Keys the
// store reads are validated by Address.
func (n namespace) Key(op, key string) (string, error) { return n.create(op, key) }

// Rel returns the caller's key for a backend key inside the namespace.
func (n namespace) Rel(full string) string {
	return strings.TrimPrefix(full, n.Prefix)
}

// Get validates a Get and returns the backend key.
func (n namespace) Get(key string, opts *GetOptions) (string, error) {
	full, err := n.Address("get", key)
	if err != nil {
		return "", err
	}
	if opts == nil {
		return full, nil
	}
	if opts.Range != nil && opts.Range.Offset < 0 {
		return "", invalidArgument(n.Driver, "get", key, fmt.Sprintf("Range.Offset is %d; it must be 0 or more", opts.Range.Offset))
	}
	if msg := checkETagArg("IfMatch", opts.IfMatch); msg != "" {
		return "", invalidArgument(n.Driver, "get", key, msg)
	}
	if msg := checkETagArg("IfNoneMatch", opts.IfNoneMatch); msg != "" {
		return "", invalidArgument(n.Driver, "get", key, msg)
	}
	return full, nil
}

// Put validates a Put and returns the backend key.
func (n namespace) Put(key string, opts *PutOptions) (string, error) {
	full, err := n.Key("put", key)
	if err != nil {
		return "", err
	}
	if opts == nil {
		return full, nil
	}
	fail := func(msg string) (string, error) { return "", invalidArgument(n.Driver, "put", key, msg) }
	if opts.IfAbsent && opts.IfMatch != "" {
		return fail("IfAbsent and IfMatch cannot be combined: IfAbsent needs the key to be missing, IfMatch needs it to exist")
	}
	if msg := checkETagArg("IfMatch", opts.IfMatch); msg != "" {
		return fail(msg)
	}
	if opts.PartSize < 0 {
		return fail(fmt.Sprintf("PartSize is %d; use 0 for the driver's default or a positive size", opts.PartSize))
	}
	if opts.Concurrency < 0 {
		return fail(fmt.Sprintf("Concurrency is %d; use 0 for the driver's default or a positive count", opts.Concurrency))
	}
	if msg := checkHeaderValue("ContentType", opts.ContentType); msg != "" {
		return fail(msg)
	}
	if err := n.checkWriteMetadata("put", key, opts.Metadata); err != nil {
		return "", err
	}
	return full, nil
}

// Delete validates a Delete and returns the backend key.
func (n namespace) Delete(key string) (string, error) { return n.Address("delete", key) }

// Stat validates a Stat and returns the backend key.
func (n namespace) Stat(key string) (string, error) { return n.Address("stat", key) }

// Copy validates a Copy and returns the backend keys of dst and src: src
// is read (Address), dst is created (Key).
func (n namespace) Copy(dst, src string, opts *CopyOptions) (fullDst, fullSrc string, err error) {
	if fullSrc, err = n.Address("copy", src); err != nil {
		return "", "", err
	}
	if fullDst, err = n.Key("copy", dst); err != nil {
		return "", "", err
	}
	if dst == src {
		return "", "", invalidArgument(n.Driver, "copy", dst, "dst and src are the same key; a copy needs two different keys")
	}
	if opts != nil {
		if msg := checkETagArg("IfMatch", opts.IfMatch); msg != "" {
			return "", "", invalidArgument(n.Driver, "copy", src, msg)
		}
	}
	return fullDst, fullSrc, nil
}

// List validates a List and returns options in backend terms: Prefix and
// StartAfter carry the namespace prefix, PageSize is between 1 and 1000.
func (n namespace) List(opts *ListOptions) (ListOptions, error) {
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	fail := func(msg string) (ListOptions, error) { return o, invalidArgument(n.Driver, "list", "", msg) }
	if o.Delimiter != "" && o.Delimiter != "/" {
		return fail(fmt.Sprintf("Delimiter is %q; only \"\" (flat) and \"/\" are portable", o.Delimiter))
	}
	if o.PageSize < 0 {
		return fail(fmt.Sprintf("PageSize is %d; use 0 for the default of %d, or a positive size", o.PageSize, driver.DefaultPageSize))
	}
	if o.PageSize == 0 || o.PageSize > driver.DefaultPageSize {
		o.PageSize = driver.DefaultPageSize
	}
	if msg := keyRules(n.Native).checkListString("Prefix", o.Prefix); msg != "" {
		return fail(msg)
	}
	if msg := keyRules(n.Native).checkListString("StartAfter", o.StartAfter); msg != "" {
		return fail(msg)
	}
	o.Prefix = n.Prefix + o.Prefix
	if o.StartAfter != "" {
		o.StartAfter = n.Prefix + o.StartAfter
	}
	return o, nil
}

// ResolveRange returns the offset and length to serve from an object of
// size bytes (rule G3). A nil r serves the whole object. An offset past the
// end gives ErrInvalidRange; an offset equal to size serves nothing.
func (n namespace) ResolveRange(key string, r *Range, size int64) (offset, length int64, err error) {
	if r == nil {
		return 0, size, nil
	}
	if r.Offset > size {
		return 0, 0, &Error{Driver: n.Driver, Op: "get", Key: key, Kind: ErrInvalidRange,
			Err: fmt.Errorf("Range.Offset %d is past the end of the %d-byte object", r.Offset, size)}
	}
	length = size - r.Offset
	if r.Length >= 0 && r.Length < length {
		length = r.Length
	}
	return r.Offset, length, nil
}

// CheckKey reports why key is not a valid key (rule K1), or "" if it is.
func CheckKey(key string) string { return checkKey(key, 0) }

func checkKey(key string, prefixLen int) string {
	switch {
	case key == "":
		return "the key is empty; a key is 1 to 1024 bytes"
	case prefixLen+len(key) > driver.MaxKeyLen:
		if prefixLen > 0 {
			return fmt.Sprintf("the key is %d bytes and the store's URL prefix %d; together they may be at most %d", len(key), prefixLen, driver.MaxKeyLen)
		}
		return fmt.Sprintf("the key is %d bytes; the limit is %d", len(key), driver.MaxKeyLen)
	case !utf8.ValidString(key):
		return "the key is not valid UTF-8"
	case key[0] == '/':
		return "the key starts with \"/\"; keys are relative, drop the leading slash"
	case key[len(key)-1] == '/':
		return "the key ends with \"/\"; that names a prefix, not an object"
	case strings.ContainsRune(key, '\\'):
		return "the key contains a backslash, which Azure rewrites to \"/\"; use \"/\" instead"
	}
	if r, ok := controlRune(key); ok {
		return fmt.Sprintf("the key contains the control character or noncharacter %U", r)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return "the key has an empty segment (\"//\")"
		case ".", "..":
			return fmt.Sprintf("the key has a %q segment, which some backends resolve away", seg)
		}
		if strings.HasSuffix(seg, ".") {
			return fmt.Sprintf("the key has the segment %q, which ends in a dot; Azure strips trailing dots from segments", seg)
		}
		if len(seg) > driver.MaxSegmentLen {
			return fmt.Sprintf("the key has a %d-byte segment between slashes; the limit is %d, because MinIO stores each segment as a file name", len(seg), driver.MaxSegmentLen)
		}
	}
	return ""
}

// controlRune finds a control character, or a Unicode noncharacter
// (U+FDD0–U+FDEF, U+xFFFE, U+xFFFF), which Azure cannot list.
func controlRune(s string) (rune, bool) {
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || (r >= 0xfdd0 && r <= 0xfdef) || r&0xfffe == 0xfffe {
			return r, true
		}
	}
	return 0, false
}

func checkListString(name, s string) string {
	switch {
	case len(s) > driver.MaxKeyLen:
		return fmt.Sprintf("%s is %d bytes; the limit is %d", name, len(s), driver.MaxKeyLen)
	case !utf8.ValidString(s):
		return name + " is not valid UTF-8"
	case strings.ContainsRune(s, '\\'):
		return name + " contains a backslash, which no valid key contains"
	}
	if r, ok := controlRune(s); ok {
		return fmt.Sprintf("%s contains the control character %U", name, r)
	}
	return ""
}

// checkETagArg accepts "", "*" or a quoted entity tag, as Attrs.ETag
// returns it. An unquoted tag is rejected rather than guessed at: S3 would
// match it and Azure would not.
func checkETagArg(name, v string) string {
	if v == "" || v == "*" {
		return ""
	}
	if msg := checkHeaderValue(name, v); msg != "" {
		return msg
	}
	tag := strings.TrimPrefix(v, "W/")
	if len(tag) < 2 || tag[0] != '"' || tag[len(tag)-1] != '"' || strings.Contains(tag[1:len(tag)-1], `"`) {
		return fmt.Sprintf("%s is %q, which is not a quoted ETag; pass Attrs.ETag exactly as it was returned, or \"*\"", name, v)
	}
	return ""
}

func checkHeaderValue(name, v string) string {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e {
			return fmt.Sprintf("%s contains the byte %#02x; only printable ASCII is allowed", name, c)
		}
	}
	return ""
}

// checkPortableMetadata reports why m is not valid user metadata (rule M1), or ""
// if it is.
func checkPortableMetadata(m map[string]string) string { return checkMetadata(m, checkMetadataKey) }

// checkMetadata is rule M1 with checkKey for the keys.
func checkMetadata(m map[string]string, checkKey func(string) string) string {
	total := 0
	seen := make(map[string]string, len(m))
	for k, v := range m {
		if msg := checkKey(k); msg != "" {
			return msg
		}
		lower := strings.ToLower(k)
		if other, dup := seen[lower]; dup {
			return fmt.Sprintf("metadata keys %q and %q differ only in case; keys are case-insensitive", other, k)
		}
		seen[lower] = k
		if v == "" {
			return fmt.Sprintf("metadata %q has an empty value; S3-compatible servers and HTTP proxies drop empty headers, so it would not round-trip", k)
		}
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x20 || c > 0x7e {
				return fmt.Sprintf("metadata %q has the byte %#02x in its value; values are printable ASCII", k, c)
			}
		}
		if v[0] == ' ' || v[len(v)-1] == ' ' {
			return fmt.Sprintf("metadata %q has a value that starts or ends with a space, which HTTP trims; trim it first", k)
		}
		total += driver.MetadataKeyOverhead + len(k) + len(v)
	}
	if total > driver.MaxMetadataSize {
		return fmt.Sprintf("metadata takes %d bytes, counting %d per key for its x-amz-meta- header prefix; the limit is %d", total, driver.MetadataKeyOverhead, driver.MaxMetadataSize)
	}
	return ""
}

func checkMetadataKey(k string) string {
	if k == "" {
		return "a metadata key is empty"
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		letter := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if i == 0 && !letter {
			return fmt.Sprintf("metadata key %q must start with an ASCII letter", k)
		}
		if !letter && !(c >= '0' && c <= '9') && c != '_' {
			return fmt.Sprintf("metadata key %q may contain only ASCII letters, digits and \"_\"", k)
		}
	}
	return ""
}
