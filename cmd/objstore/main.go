// Command objstore works with any store objstore can open. For now it has
// one subcommand, check, which runs the conformance suite against a store
// URL and prints the verdict rule by rule:
//
//	objstore check mem://
//	objstore check --json 's3://bucket?region=eu-west-1'
//
// Exit status: 0 when every case passes (or is unsupported), 1 when a case
// fails, 2 on a usage error or when the store cannot be opened.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
)

const usage = `usage: objstore <command> [flags] URL

commands:
  check    run the conformance suite against the store at URL and print
           a pass/fail/unsupported verdict for every case

run "objstore <command> -h" for the command's flags
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "check":
		return check(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "objstore: unknown command %q\n\n%s", args[0], usage)
	return 2
}
