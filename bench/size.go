package main

import (
	"fmt"
	"strconv"
	"strings"
)

// parseSize parses a byte count: a plain integer, or one with a KiB, MiB
// or GiB suffix (also K, M, G, KB, MB, GB, all powers of 1024; case does
// not matter). Zero is accepted: the callers use it to mean "skip".
func parseSize(s string) (int64, error) {
	v := strings.TrimSpace(s)
	if v == "" {
		return 0, fmt.Errorf("empty size; want a number of bytes such as 4096, 256MiB or 1GiB")
	}
	mult := int64(1)
	lower := strings.ToLower(v)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{
		{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
		{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30},
		{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1},
	} {
		if n, ok := strings.CutSuffix(lower, u.suffix); ok {
			lower, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(lower, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size; want a number of bytes such as 4096, 256MiB or 1GiB", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}

// formatSize prints n in the largest binary unit that divides it.
func formatSize(n int64) string {
	switch {
	case n != 0 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n != 0 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n != 0 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// sizeFlag is a flag.Value holding a size.
type sizeFlag struct{ n *int64 }

func (f sizeFlag) String() string {
	if f.n == nil {
		return ""
	}
	return formatSize(*f.n)
}

func (f sizeFlag) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*f.n = n
	return nil
}

// parseList splits a comma-separated flag value and checks every element
// against allowed.
func parseList(name, v string, allowed []string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == s
		}
		if !ok {
			return nil, fmt.Errorf("-%s: unknown value %q; choose from %s", name, s, strings.Join(allowed, ","))
		}
		out = append(out, s)
	}
	return out, nil
}
