package driver

import "fmt"

// KeyMode is the rule a store applies to the names it creates: the key of
// a Put, the dst of a Copy, and the Metadata keys they write. It never
// limits what the store reads: Stat, Get, Delete and Copy's src address
// any key the backend can hold (rule K3).
type KeyMode uint8

const (
	// KeysPortable, the default, creates only keys that every backend
	// holds and addresses the same way (rule K1), and Metadata by rule M1.
	KeysPortable KeyMode = iota
	// KeysNative creates any key the backend can address (its KeyRules),
	// and Metadata keys the backend can hold, for apps that migrate data
	// written by other tools and must keep its names (rule K4). Such names
	// may not be portable to other backends.
	KeysNative
)

// KeysParam is the URL parameter every driver accepts for the KeyMode:
// keys=portable (the default) or keys=native.
const KeysParam = "keys"

func (m KeyMode) String() string {
	switch m {
	case KeysPortable:
		return "portable"
	case KeysNative:
		return "native"
	}
	return fmt.Sprintf("KeyMode(%d)", uint8(m))
}

// ParseKeyMode reads the value of the keys= URL parameter.
func ParseKeyMode(v string) (KeyMode, error) {
	switch v {
	case "portable":
		return KeysPortable, nil
	case "native":
		return KeysNative, nil
	}
	return KeysPortable, Errorf(ErrInvalidArgument, fmt.Sprintf("URL parameter %s=%q is not a key mode; use portable (the default) or native", KeysParam, v))
}

// CheckKeyMode reports why m is not a KeyMode, for drivers' Options, or "".
func CheckKeyMode(m KeyMode) string {
	if m > KeysNative {
		return fmt.Sprintf("Options.Keys is %v; use objstore.KeysPortable or objstore.KeysNative", m)
	}
	return ""
}

// KeyRules describe the keys a backend can address: the keys Stat, Get,
// Delete and Copy's src accept, and in KeysNative mode the keys Put and
// Copy's dst accept. Each driver gives the rules of its backend in its
// Info; the portable store's validator applies them. Every backend's keys are valid
// UTF-8 without NUL and at least one byte long. The zero value (MaxLen 0)
// addresses exactly the portable keys of rule K1, for a driver that does
// not say what its backend holds.
type KeyRules struct {
	// Backend names the backend in messages: "S3", "Azure Blob".
	Backend string
	// MaxLen is the longest key, counted with the store's URL prefix: in
	// bytes, or in UTF-16 code units with UTF16. Zero means the rules are
	// not set.
	MaxLen int
	UTF16  bool
	// NoLeadingSlash refuses a key that starts with "/", which the backend
	// strips (MinIO stores "/a" as "a") or cannot hold (a file system).
	NoLeadingSlash bool
	// NoTrailingSlash refuses a key that ends with "/", which the backend
	// holds only as a directory.
	NoTrailingSlash bool
	// CleanSegments refuses empty, "." and ".." segments, which the
	// backend resolves away ("a//b" and "a/./b" are "a/b"), so that the
	// key would address another name, or leave the store.
	CleanSegments bool
	// MaxSegment, if not zero, is the most bytes between two slashes.
	MaxSegment int
	// NoControl refuses control characters and Unicode noncharacters,
	// which the backend refuses or strips.
	NoControl bool
	// NoBackslash refuses "\", which the backend reads as "/".
	NoBackslash bool
	// NoDotEnd refuses a segment that ends in ".", which the backend
	// strips (so the request would address another name): "a./b", "a.",
	// and so "." and "..".
	NoDotEnd bool
	// Reserved are segments the driver keeps for itself.
	Reserved []string
	// IdentMetadata: the backend holds only Metadata keys that are
	// identifiers (ASCII letters, digits and "_", not starting with a
	// digit), as Azure does. Otherwise a Metadata key is any HTTP token
	// ("my-key", "a.b").
	IdentMetadata bool
}
