package driver

// KeyRules describe the keys a backend can address: the keys Stat, Get,
// Delete and Copy's src accept, and in KeysNative mode the keys Put and
// Copy's dst accept. Each driver sets the rules of its backend in its
// Namespace; the validator applies them. Every backend's keys are valid
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
