package objstore

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/objstore-go/objstore/driver"
)

// KeyMode is the rule a store applies to the names it creates: the key of
// a Put, the dst of a Copy, and the Metadata keys they write (see
// [driver.KeyMode]). Drivers' Options take it.
type KeyMode = driver.KeyMode

// The key modes: see [driver.KeysPortable] and [driver.KeysNative].
const (
	KeysPortable = driver.KeysPortable
	KeysNative   = driver.KeysNative
)

// keyRules carries the checks of a driver's KeyRules.
type keyRules driver.KeyRules

func (r keyRules) set() bool { return r.MaxLen > 0 }

// keyLen is the length of s as r counts it.
func (r keyRules) keyLen(s string) int {
	if !r.UTF16 {
		return len(s)
	}
	n := 0
	for _, c := range s {
		n++
		if c > 0xffff {
			n++ // a surrogate pair
		}
	}
	return n
}

func (r keyRules) unit() string {
	if r.UTF16 {
		return "UTF-16 code units"
	}
	return "bytes"
}

// checkAddress reports why the backend of r cannot address key, or "".
// prefix is the store's URL prefix, which counts toward the limit.
func (r keyRules) checkAddress(key string, prefix string) string {
	if !r.set() {
		return checkKey(key, len(prefix))
	}
	switch {
	case key == "":
		return "the key is empty"
	case !utf8.ValidString(key):
		return "the key is not valid UTF-8"
	case strings.IndexByte(key, 0) >= 0:
		return "the key contains a NUL byte, which no backend can address"
	}
	if n, p := r.keyLen(key), r.keyLen(prefix); p+n > r.MaxLen {
		if p > 0 {
			return fmt.Sprintf("the key is %d %s and the store's URL prefix %d; together they may be at most %d on %s", n, r.unit(), p, r.MaxLen, r.Backend)
		}
		return fmt.Sprintf("the key is %d %s; %s addresses at most %d", n, r.unit(), r.Backend, r.MaxLen)
	}
	if r.NoControl {
		if c, ok := controlRune(key); ok {
			return fmt.Sprintf("the key contains the control character or noncharacter %U, which %s refuses or strips", c, r.Backend)
		}
	}
	if r.NoBackslash && strings.ContainsRune(key, '\\') {
		return fmt.Sprintf("the key contains a backslash, which %s reads as \"/\"", r.Backend)
	}
	switch {
	case r.NoLeadingSlash && key[0] == '/':
		return fmt.Sprintf("the key starts with \"/\", which %s strips or cannot hold, so the key would address another name", r.Backend)
	case r.NoTrailingSlash && key[len(key)-1] == '/':
		return fmt.Sprintf("the key ends with \"/\", which names a directory on %s, not an object", r.Backend)
	case !r.CleanSegments && !r.NoDotEnd && r.MaxSegment == 0 && len(r.Reserved) == 0:
		return ""
	}
	// A leading or trailing "/" is NoLeadingSlash's and NoTrailingSlash's
	// to judge, not an empty segment.
	segments := strings.TrimSuffix(strings.TrimPrefix(key, "/"), "/")
	for seg := range strings.SplitSeq(segments, "/") {
		if r.CleanSegments {
			switch seg {
			case "":
				return fmt.Sprintf("the key has an empty segment (\"//\"), which %s collapses, so the key would address another name", r.Backend)
			case ".", "..":
				return fmt.Sprintf("the key has a %q segment, which %s resolves away, so the key would address another name", seg, r.Backend)
			}
		}
		if r.NoDotEnd && strings.HasSuffix(seg, ".") {
			return fmt.Sprintf("the key has the segment %q, which ends in a dot; %s strips it, so the key would address another name", seg, r.Backend)
		}
		if r.MaxSegment > 0 && len(seg) > r.MaxSegment {
			return fmt.Sprintf("the key has a %d-byte segment between slashes; %s holds at most %d", len(seg), r.Backend, r.MaxSegment)
		}
		for _, res := range r.Reserved {
			if seg == res {
				return fmt.Sprintf("the key has the segment %q, which the driver keeps for itself", seg)
			}
		}
	}
	return ""
}

// checkListString reports why s cannot be a List Prefix or StartAfter on
// the backend of r, or "". These are raw strings, not keys: any string
// the backend's keys could start with.
func (r keyRules) checkListString(name, s string) string {
	if !r.set() {
		return checkListString(name, s)
	}
	switch {
	case !utf8.ValidString(s):
		return name + " is not valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return name + " contains a NUL byte, which no key contains"
	case r.keyLen(s) > r.MaxLen:
		return fmt.Sprintf("%s is %d %s; %s keys have at most %d", name, r.keyLen(s), r.unit(), r.Backend, r.MaxLen)
	case r.NoBackslash && strings.ContainsRune(s, '\\'):
		return fmt.Sprintf("%s contains a backslash, which no %s key contains", name, r.Backend)
	}
	if c, ok := controlRune(s); ok && r.NoControl {
		return fmt.Sprintf("%s contains the control character %U", name, c)
	}
	return ""
}

// checkMetadataKey reports why k cannot be a Metadata key on the backend
// of r, or "" (KeysNative).
func (r keyRules) checkMetadataKey(k string) string {
	if !r.set() || r.IdentMetadata {
		return checkMetadataKey(k)
	}
	if k == "" {
		return "a metadata key is empty"
	}
	for i := 0; i < len(k); i++ {
		if !isTokenChar(k[i]) {
			return fmt.Sprintf("metadata key %q has the byte %#02x; a metadata key is an HTTP header name: ASCII letters, digits and !#$%%&'*+-.^_`|~", k, k[i])
		}
	}
	return ""
}

// isTokenChar reports whether c may appear in an HTTP header name (RFC
// 9110 tchar).
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// Address validates a key that the store reads, deletes or copies from
// (rule K3): any key the backend can address, portable or not. It returns
// the backend's key.
func (n namespace) Address(op, key string) (string, error) {
	if msg := keyRules(n.Native).checkAddress(key, n.Prefix); msg != "" {
		return "", invalidArgument(n.Driver, op, key, msg)
	}
	return n.Prefix + key, nil
}

// create validates a key that the store creates: Put's key or Copy's dst.
// In KeysPortable mode it must be portable (rule K1); in KeysNative mode
// any key the backend can address will do (rule K4).
func (n namespace) create(op, key string) (string, error) {
	if n.Keys == KeysNative && keyRules(n.Native).set() {
		return n.Address(op, key)
	}
	msg := checkKey(key, len(n.Prefix))
	if msg == "" {
		return n.Prefix + key, nil
	}
	err := invalidArgument(n.Driver, op, key, msg)
	if keyRules(n.Native).set() && keyRules(n.Native).checkAddress(key, n.Prefix) == "" {
		err.Hint = fmt.Sprintf("the key is not portable (rule K1), though %s can hold it; to write it anyway, open the store with %s=native", n.Native.Backend, driver.KeysParam)
	}
	return "", err
}

// checkWriteMetadata validates the Metadata of a write: rule M1, or in
// KeysNative mode M1 with the keys the backend can hold (rule M3).
func (n namespace) checkWriteMetadata(op, key string, m map[string]string) error {
	native := checkMetadata(m, keyRules(n.Native).checkMetadataKey)
	if n.Keys == KeysNative {
		if native != "" {
			return invalidArgument(n.Driver, op, key, native)
		}
		return nil
	}
	msg := checkPortableMetadata(m)
	if msg == "" {
		return nil
	}
	err := invalidArgument(n.Driver, op, key, msg)
	if native == "" && keyRules(n.Native).set() {
		err.Hint = fmt.Sprintf("the metadata is not portable (rule M1), though %s can hold it; to write it anyway, open the store with %s=native", n.Native.Backend, driver.KeysParam)
	}
	return err
}
