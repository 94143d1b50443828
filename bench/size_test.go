package main

import "testing"

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"4096", 4096, true},
		{"0", 0, true},
		{"256MiB", 256 << 20, true},
		{"1GiB", 1 << 30, true},
		{"1gib", 1 << 30, true},
		{"4KiB", 4 << 10, true},
		{"8M", 8 << 20, true},
		{"2 GB", 2 << 30, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"-1", 0, false},
		{"1.5GiB", 0, false},
		{"12TiB", 0, false},
		{"99999999999999GiB", 0, false},
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for in, want := range map[int64]string{0: "0B", 4096: "4KiB", 256 << 20: "256MiB", 1 << 30: "1GiB", 1000: "1000B"} {
		if got := formatSize(in); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestParseList(t *testing.T) {
	got, err := parseList("targets", "s3, azure", []string{"s3", "azure"})
	if err != nil || len(got) != 2 || got[0] != "s3" || got[1] != "azure" {
		t.Errorf("parseList = %v, %v", got, err)
	}
	if _, err := parseList("targets", "s3,gcs", []string{"s3", "azure"}); err == nil {
		t.Error("parseList accepted an unknown value")
	}
}
