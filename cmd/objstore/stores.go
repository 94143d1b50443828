package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/objstore-go/objstore"
)

const storeAbout = `Manages named stores, like rclone remotes or mc aliases: a name for a
store URL, so that NAME:KEY stands for the object URL of KEY in that store.

  objstore store add minio 's3://?endpoint=http://127.0.0.1:9000&use_path_style=true'
  objstore ls minio:            lists the buckets
  objstore cp report.pdf minio:bucket/reports/
  objstore store add photos 'azblob://photos?account=myacct'
  objstore ls photos:2026/      lists under the container photos

A store URL without a bucket or container takes it from the first segment
of KEY. A URL with a path takes it as a prefix of every KEY.

  store add NAME URL   name URL (replacing what NAME named)
  store list           print every name and its URL
  store rm NAME        forget NAME

Names are 2 to 32 lowercase letters, digits, "-" and "_", starting with a
letter, and not a URL scheme. The file is JSON, in
os.UserConfigDir()/objstore/stores.json ($XDG_CONFIG_HOME or ~/.config on
Linux), or at $OBJSTORE_CONFIG. It never holds a secret: a URL with one
(a key, a SAS, a password) is refused, as everywhere; credentials come from
the environment. A local path that looks like NAME:KEY for a configured
NAME is written ./NAME:KEY.`

// configFile is the path of the named stores' file.
func configFile() (string, error) {
	if p := os.Getenv("OBJSTORE_CONFIG"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the configuration directory: %w; set OBJSTORE_CONFIG to a file path", err)
	}
	return filepath.Join(dir, "objstore", "stores.json"), nil
}

// storesFile is the content of the file.
type storesFile struct {
	Stores map[string]string `json:"stores"`
}

var (
	namedOnce   sync.Once
	namedStores map[string]string
	namedErr    error
)

// readStores reads the file; a missing file holds no store.
func readStores() (map[string]string, error) {
	p, err := configFile()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f storesFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w; fix or remove the file", p, err)
	}
	if f.Stores == nil {
		f.Stores = map[string]string{}
	}
	return f.Stores, nil
}

// writeStores replaces the file atomically, readable by its owner only.
func writeStores(m map[string]string) error {
	p, err := configFile()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(storesFile{Stores: m}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".stores-*.json")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

var storeName = regexp.MustCompile(`^[a-z][a-z0-9_-]{1,31}$`)

// namedOperand splits NAME:KEY when NAME is a configured store.
func namedOperand(arg string) (name, key, storeURL string, ok bool, err error) {
	name, key, found := strings.Cut(arg, ":")
	if !found || !storeName.MatchString(name) {
		return "", "", "", false, nil
	}
	namedOnce.Do(func() { namedStores, namedErr = readStores() })
	if namedErr != nil {
		return "", "", "", false, namedErr
	}
	storeURL, ok = namedStores[name]
	return name, key, storeURL, ok, nil
}

// resolveNamed makes the target of KEY in the store storeURL.
func resolveNamed(name, storeURL, key string) (target, error) {
	t, err := parseTarget(storeURL)
	if err != nil {
		return target{}, fmt.Errorf("the store %s: %w", name, err)
	}
	u, err := url.Parse(t.store)
	if err != nil {
		return target{}, err
	}
	switch {
	case u.Scheme == "file" || u.Scheme == "mem":
		t.key = dirKey(t.key) + key
	case u.Host == "":
		// No bucket: the key's first segment is one.
		bucket, rest, _ := strings.Cut(key, "/")
		u.Host = bucket
		t.store, t.key = u.String(), dirKey(t.key)+rest
	default:
		t.key = dirKey(t.key) + key
	}
	return t, nil
}

// checkStoreURL refuses what cannot be a store URL, or holds a secret.
func checkStoreURL(ctx context.Context, raw string) error {
	if !strings.Contains(raw, "://") {
		return usageErrorf("%q is not a URL; write a store URL such as s3://bucket?region=eu-west-1", raw)
	}
	t, err := parseTarget(raw)
	if err != nil {
		return err
	}
	u, err := url.Parse(t.store)
	if err != nil {
		return err
	}
	if u.Host == "" && u.Scheme != "mem" && u.Scheme != "file" {
		u.Host = "objstore-name-check" // Open wants a bucket; any will do
	}
	// Open refuses secrets in the URL (rule U4) and unknown parameters,
	// and sends no request.
	st, err := objstore.Open(ctx, u.String())
	if err != nil {
		return err
	}
	return st.Close()
}

func storeCmd(ctx context.Context, args []string, e *env) int {
	fs := newFlags("store", "add NAME URL | list | rm NAME", storeAbout, e)
	if code := parseFlags(fs, args, -1); code >= 0 {
		return code
	}
	ops := fs.Args()
	want := map[string]int{"add": 3, "list": 1, "rm": 2}
	if len(ops) == 0 || want[ops[0]] == 0 {
		return fs.usageFail("want add, list or rm")
	}
	if len(ops) != want[ops[0]] {
		return fs.usageFail("store %s wants %d operand(s), got %d", ops[0], want[ops[0]]-1, len(ops)-1)
	}
	m, err := readStores()
	if err != nil {
		return fail(e.stderr, "store", err)
	}
	switch ops[0] {
	case "list":
		for _, n := range slices.Sorted(func(yield func(string) bool) {
			for k := range m {
				if !yield(k) {
					return
				}
			}
		}) {
			fmt.Fprintf(e.stdout, "%s\t%s\n", n, m[n])
		}
		return exitOK
	case "rm":
		if _, ok := m[ops[1]]; !ok {
			return fail(e.stderr, "store", &objstore.Error{Driver: "objstore", Op: "store rm", Kind: objstore.ErrNotFound,
				Err: fmt.Errorf("no store is named %q", ops[1]), Hint: "objstore store list prints the names"})
		}
		delete(m, ops[1])
	case "add":
		name, raw := ops[1], ops[2]
		if !storeName.MatchString(name) || slices.Contains(objstore.Schemes(), name) {
			return fail(e.stderr, "store", usageErrorf("%q cannot name a store: a name is 2 to 32 lowercase letters, digits, - and _, starting with a letter, and not a URL scheme", name))
		}
		if err := checkStoreURL(ctx, raw); err != nil {
			return fail(e.stderr, "store", err)
		}
		m[name] = raw
	}
	if err := writeStores(m); err != nil {
		return fail(e.stderr, "store", err)
	}
	return exitOK
}
