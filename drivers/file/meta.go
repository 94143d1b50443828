package file

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/objstore-go/objstore/driver"
)

// lastStamp is the last modification time, in nanoseconds, given to a
// write of this process.
var lastStamp atomic.Int64

// nextStamp returns a time close to now, later than any it returned
// before, so that two writes of this process never share an ETag.
func nextStamp() time.Time {
	for {
		last := lastStamp.Load()
		now := time.Now().UnixNano()
		if now <= last {
			now = last + 1
		}
		if lastStamp.CompareAndSwap(last, now) {
			return time.Unix(0, now)
		}
	}
}

func stampOf(fi fs.FileInfo) int64 { return fi.ModTime().UnixNano() }

// etagOf is the ETag of the version of a file fi describes.
func etagOf(fi fs.FileInfo) string {
	return `"` + strconv.FormatInt(stampOf(fi), 16) + "-" + strconv.FormatInt(fi.Size(), 16) + `"`
}

// sidecar holds what a file cannot: the object's ContentType and
// Metadata. Name, Size and Stamp say which version of which file it
// describes.
type sidecar struct {
	Name        string            `json:"name"`
	Size        int64             `json:"size"`
	Stamp       int64             `json:"stamp"`
	ContentType string            `json:"content_type"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// sidecarName is the path, relative to the object's directory, of the
// sidecar of the version of name with the given stamp. Names are hashed
// to keep it within 255 bytes whatever the key segment.
func sidecarName(name string, stamp int64) string {
	h := sha256.Sum256([]byte(name))
	return hidden + "/" + hex.EncodeToString(h[:16]) + "." + strconv.FormatInt(stamp, 16)
}

// readAttrs returns the attributes of the version of name in d that fi
// describes. ok is false when it has no sidecar: the attributes are then
// the defaults, which are right unless the file was replaced and the
// sidecar of this version removed; the caller checks.
func readAttrs(d *os.Root, key, name string, fi fs.FileInfo) (a driver.Attrs, ok bool, err error) {
	a = driver.Attrs{
		Key:         key,
		Size:        fi.Size(),
		ETag:        etagOf(fi),
		ModTime:     fi.ModTime().UTC().Truncate(time.Second),
		ContentType: driver.DefaultContentType,
	}
	data, err := d.ReadFile(sidecarName(name, stampOf(fi)))
	if errors.Is(err, fs.ErrNotExist) {
		return a, false, nil
	}
	if err != nil {
		return a, false, err
	}
	var sc sidecar
	if json.Unmarshal(data, &sc) != nil || sc.Name != name || sc.Size != fi.Size() || sc.Stamp != stampOf(fi) {
		// Not this version's: a collision or a damaged file. The
		// defaults are the honest answer.
		return a, true, nil
	}
	a.ContentType = driver.ContentTypeOrDefault(sc.ContentType)
	a.Metadata = driver.NormalizeMetadata(sc.Metadata)
	return a, true, nil
}

// needsSidecar reports whether attributes differ from what a file
// without a sidecar reads as.
func needsSidecar(contentType string, metadata map[string]string) bool {
	return contentType != driver.DefaultContentType || len(metadata) > 0
}

// writeSidecar writes and syncs the sidecar of the version of name that
// fi describes.
func writeSidecar(d *os.Root, name string, fi fs.FileInfo, contentType string, metadata map[string]string) (string, error) {
	sc := sidecar{Name: name, Size: fi.Size(), Stamp: stampOf(fi), ContentType: contentType, Metadata: maps.Clone(metadata)}
	data, err := json.Marshal(sc)
	if err != nil {
		return "", err
	}
	p := sidecarName(name, sc.Stamp)
	f, err := d.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(d, hidden)
	}
	if err != nil {
		d.Remove(p)
		return "", err
	}
	return p, nil
}

// lockCurrent takes an exclusive lock on f, which was opened from name in
// d, and reports whether name still is f once the lock is held. A writer
// that replaced name meanwhile holds a lock on the old file, not the new
// one: the caller then starts over.
func lockCurrent(f *os.File, d *os.Root, name string) (fs.FileInfo, bool, error) {
	if err := lockFile(f); err != nil {
		return nil, false, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	now, err := d.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return fi, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return fi, os.SameFile(fi, now), nil
}
