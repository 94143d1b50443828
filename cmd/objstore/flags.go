package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// flagSet is a command's flags. Flags may come anywhere on the line,
// before, between or after the operands, as with GNU tools; "--" ends
// them. Every flag is spelled with one dash or two (-r, --r), and a flag
// with a long name given by alias also answers to it (--recursive).
type flagSet struct {
	*flag.FlagSet
	synopsis, about string
	stdout, stderr  io.Writer
	aliases         map[string]string // long name → the flag's own name
}

// newFlags returns the flags of command name. Its help (-h) goes to stdout
// and exits 0; mistakes go to stderr in two lines and exit 2.
func newFlags(name, synopsis, about string, e *env) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, synopsis: synopsis, about: about, stdout: e.stdout, stderr: e.stderr,
		aliases: map[string]string{}}
}

// alias makes --long another name for the flag name.
func (fs *flagSet) alias(name, long string) {
	f := fs.Lookup(name)
	fs.Var(f.Value, long, f.Usage)
	fs.aliases[long] = name
}

// help prints the command's full help.
func (fs *flagSet) help(w io.Writer) {
	fmt.Fprintf(w, "usage: objstore %s %s\n\n%s\n\nflags:\n", fs.Name(), fs.synopsis, fs.about)
	long := map[string]string{}
	for l, n := range fs.aliases {
		long[n] = l
	}
	var lines [][2]string
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := fs.aliases[f.Name]; ok {
			return
		}
		names := "--" + f.Name
		if len(f.Name) == 1 {
			names = "-" + f.Name
		}
		if l, ok := long[f.Name]; ok {
			names += ", --" + l
		}
		typ, usage := flag.UnquoteUsage(f)
		if typ != "" {
			names += " " + typ
		}
		if d := f.DefValue; d != "" && d != "false" && d != "0" {
			usage += " (default " + d + ")"
		}
		lines = append(lines, [2]string{names, usage})
	})
	slices.SortFunc(lines, func(a, b [2]string) int {
		return strings.Compare(strings.TrimLeft(a[0], "-"), strings.TrimLeft(b[0], "-"))
	})
	for _, l := range lines {
		fmt.Fprintf(w, "  %s\n    \t%s\n", l[0], l[1])
	}
	fmt.Fprintln(w, "\nexit status: 0 ok, 1 operation failed, 2 usage error, 3 not found, 130 interrupted")
}

// usageFail prints a mistake in the command line in two lines, the
// mistake and the synopsis, and returns the usage exit status.
func (fs *flagSet) usageFail(format string, args ...any) int {
	fmt.Fprintf(fs.stderr, "objstore %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fmt.Fprintf(fs.stderr, "usage: objstore %s %s  (objstore %s -h for help)\n", fs.Name(), fs.synopsis, fs.Name())
	return exitUsage
}

// parseFlags parses args, flags and operands in any order, and checks
// that there are nargs operands (nargs < 0: any number). It returns -1
// when the command should go on, or the status to exit with (0 for -h).
// The operands are then fs.Args().
func parseFlags(fs *flagSet, args []string, nargs int) int {
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.help(fs.stdout)
				return exitOK
			}
			return fs.usageFail("%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			operands = append(operands, rest...) // "--" ends the flags
			break
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
	fs.Parse(append([]string{"--"}, operands...)) // fs.Args() = operands
	if nargs >= 0 && len(operands) != nargs {
		var what string
		if len(operands) > 0 {
			what = ": " + strings.Join(operands, " ")
		}
		return fs.usageFail("want %d operand(s), got %d%s", nargs, len(operands), what)
	}
	return -1
}
