package main

import (
	"fmt"
	"strconv"
	"strings"
)

// parseSize is the one parser of every size the command takes (-large,
// -small, --part-size, ...): a number of bytes, whole or with a fraction,
// optionally followed by a unit. KiB, MiB, GiB and TiB are powers of
// 1024, and so are the short K, M, G, T (as in rclone and aws); KB, MB,
// GB and TB are powers of 1000. Case does not matter, and B is bytes.
func parseSize(s string) (int64, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	i := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := v, ""
	if i >= 0 {
		num, unit = v[:i], strings.TrimSpace(v[i:])
	}
	mult, ok := sizeUnits[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || num == "" {
		return 0, fmt.Errorf("%q is not a size; write bytes, or a number with a unit: 4096, 64MiB, 1.5GiB, 10MB", s)
	}
	n := f * float64(mult)
	if n >= 1<<62 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(n), nil
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
}

// formatSize prints n bytes for people: "512 B", "4.0 KiB", "1.5 GiB".
func formatSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f /= 1024
		if f < 1024 || u == "TiB" {
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	panic("unreachable")
}

// sizeValue is a flag.Value holding a size read by parseSize.
type sizeValue int64

func (v *sizeValue) String() string {
	if v == nil || *v == 0 {
		return "0"
	}
	n := int64(*v)
	for _, u := range []struct {
		name string
		mult int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n%u.mult == 0 {
			return fmt.Sprintf("%d%s", n/u.mult, u.name)
		}
	}
	return strconv.FormatInt(n, 10)
}

func (v *sizeValue) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*v = sizeValue(n)
	return nil
}

// Get makes sizeValue a flag.Getter.
func (v *sizeValue) Get() any { return int64(*v) }
