package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/objstore-go/objstore/conformance"
)

func TestCheckMemPasses(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"check", "mem://"}, nil, &out, &errOut)
	if code != 0 {
		t.Fatalf("check mem:// exited %d\n%s%s", code, out.String(), errOut.String())
	}
	n := len(conformance.Cases())
	if !strings.Contains(out.String(), "cases: ") || strings.Count(out.String(), " pass ") < n {
		t.Fatalf("check mem:// printed no full passing table:\n%s", out.String())
	}
}

func TestCheckJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"check", "--json", "--run", "^P4/", "mem://json-check"}, nil, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var results []conformance.Result
	if err := json.Unmarshal(out.Bytes(), &results); err != nil {
		t.Fatalf("--json printed invalid JSON: %v\n%s", err, out.String())
	}
	if len(results) != 2 || results[0].Rule != "P4" || results[0].Status != conformance.Pass {
		t.Fatalf("--run ^P4/ gave %+v", results)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"check"},
		{"check", "nosuch://bucket"},
		{"check", "--run", "(", "mem://"},
		{"check", "mem://x?bogus=1"},
	} {
		var out, errOut bytes.Buffer
		if code := run(t.Context(), args, nil, &out, &errOut); code != 2 {
			t.Errorf("objstore %q exited %d, want 2", args, code)
		}
		if errOut.Len() == 0 {
			t.Errorf("objstore %q printed no error", args)
		}
	}
}

func TestCheckFilePasses(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"check", "file://" + t.TempDir()}, nil, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), " 0 fail") {
		t.Fatalf("check file:// exited %d\n%s%s", code, out.String(), errOut.String())
	}
}
