// Command objstore works with any store objstore can open: it copies,
// lists, reads, inspects and deletes objects, checks a store against the
// objstore contract, and measures it.
//
//	objstore check mem://
//	objstore cp ./report.pdf 's3://bucket/reports/2026/report.pdf?region=eu-west-1'
//	objstore ls -l 's3://bucket/reports/?region=eu-west-1'
//	objstore cat file:///var/lib/objects/notes/hello.txt
//
// # Object URLs
//
// An object URL is the store URL plus the key as its path; ? parameters
// stay at the end and belong to the store. For every scheme the store is
// the URL without its path (scheme://host?params) and the whole path,
// without its leading "/", is the key:
//
//	s3://bucket/dir/key.txt?region=us-east-1   store s3://bucket?region=us-east-1, key dir/key.txt
//	azblob://container/a/b?account=acct         store azblob://container?account=acct, key a/b
//	mem://name/k                                store mem://name, key k
//	file:///abs/dir/key.txt                     store file:///, key abs/dir/key.txt
//
// A file:// URL thus names its file by its absolute path, and the store is
// the filesystem root. Since the file driver maps key "p/q/k" to the file
// p/q/k under its root, this is the same object as key "key.txt" of
// file:///abs/dir, and the length limit of keys is the same too (the file
// driver counts its root's path in a key's length). Missing directories are
// created on write, as missing "directories" are no obstacle in a bucket.
// The path is percent-decoded: write %3F for a "?" in a key, %25 for "%".
// An argument without "://" is a local path; "-" is stdin or stdout for cp.
//
// # Named stores
//
// "objstore store add NAME URL" names a store URL, kept in
// os.UserConfigDir()/objstore/stores.json (or the file $OBJSTORE_CONFIG
// names), never with a secret; NAME:KEY then stands for the object URL of
// KEY in that store. A named URL without a bucket takes it from KEY's
// first segment. The S3 endpoint can also come from AWS_ENDPOINT_URL_S3
// or AWS_ENDPOINT_URL rather than ?endpoint=. See docs/CLI.md.
//
// # Exit status
//
//	0  success
//	1  the operation failed (for check: a case failed)
//	2  usage error: bad flags, a malformed URL or key, an unknown scheme or
//	   URL parameter (anything objstore.ErrInvalidArgument says)
//	3  not found: the object, bucket or local file does not exist
//	   (ErrNotFound, ErrBucketNotFound, fs.ErrNotExist); also rm of a
//	   key that is no object but a prefix of some ("did you mean -r?")
//	130 interrupted (Ctrl-C); the message says what was left behind
//
// Errors are printed to stderr, one line each, with the hint that
// objstore.Error carries (which credential variable to check, say).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
)

const usage = `usage: objstore <command> [flags] ARG...

commands:
  cp     SRC DST   copy objects: local path <-> URL, or URL <-> URL (-r for prefixes)
  ls     URL       list the objects and prefixes under URL's key prefix
  cat    URL       write an object's bytes to stdout
  stat   URL       print an object's attributes
  rm     URL       delete an object (-r: every object under a prefix)
  sync   SRC DST   copy what is missing or different from SRC to DST (local
                   directory or prefix); --delete, --dry-run
  check  URL       run the conformance suite against the store at URL and print
                   a pass/fail/unsupported verdict for every case
  bench  URL       measure latency and throughput of the store at URL
  store  add NAME URL | list | rm NAME
                   name a store URL, so that NAME:KEY is an object URL
  version          print the version, the Go version and the drivers linked in

An object URL is the store URL plus the key as its path; ? parameters stay
at the end and belong to the store:
  s3://bucket/dir/key.txt?region=us-east-1  -> store s3://bucket?region=us-east-1, key dir/key.txt
  file:///abs/dir/key.txt                   -> store file:///, key abs/dir/key.txt
  mem://name/key                            -> store mem://name, key key
The path is percent-decoded (%3F for "?"). An argument without "://" is a
local path.

S3-compatible servers (MinIO, ...): rather than ?endpoint=... on every URL,
set the endpoint once in the environment (the region then defaults to us-east-1):
  AWS_ENDPOINT_URL_S3=http://127.0.0.1:9000   (or AWS_ENDPOINT_URL, for every AWS service)
A server that needs path-style addressing under a host name still needs
?use_path_style=true; or name the store once ("objstore store -h") and
write minio:bucket/key. Credentials come from the environment
(AWS_ACCESS_KEY_ID, AZURE_STORAGE_KEY, ...), never from a URL.

exit status: 0 ok, 1 operation failed, 2 usage error (bad flags, URL or key),
3 not found (object, bucket or local file), 130 interrupted (Ctrl-C)

run "objstore <command> -h" for the command's flags
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type command func(ctx context.Context, args []string, env *env) int

var commands = map[string]command{
	"cp":      cp,
	"ls":      ls,
	"cat":     cat,
	"stat":    stat,
	"rm":      rm,
	"bench":   bench,
	"check":   check,
	"version": version,
	"store":   storeCmd,
	"sync":    syncCmd,
}

// env is what a command sees of the process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	if c, ok := commands[args[0]]; ok {
		return c(ctx, args[1:], &env{stdin: stdin, stdout: stdout, stderr: stderr})
	}
	fmt.Fprintf(stderr, "objstore: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}
