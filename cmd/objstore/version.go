package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/objstore-go/objstore"
)

const versionAbout = `Prints the objstore module's version (with the VCS revision when the
binary was built from a checkout), the Go version and platform it was
built with, and the URL schemes of the drivers linked in.`

func version(ctx context.Context, args []string, e *env) int {
	fs := newFlags("version", "", versionAbout, e)
	if code := parseFlags(fs, args, 0); code >= 0 {
		return code
	}
	v := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = "+dirty"
				}
			}
		}
		if rev != "" && !strings.Contains(v, rev[:min(12, len(rev))]) {
			v += " (" + rev[:min(12, len(rev))] + modified + ")"
		}
	}
	fmt.Fprintf(e.stdout, "objstore %s\n%s %s/%s\ndrivers: %s\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH,
		strings.Join(objstore.Schemes(), " "))
	return exitOK
}
