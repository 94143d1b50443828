package testenv

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const testVar = "OBJSTORE_TEST_EXAMPLE_URL"

func TestDecide(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantURL string
		wantAct action
		// wantMsg lists substrings the message must contain.
		wantMsg []string
	}{
		{
			name:    "set",
			env:     map[string]string{testVar: "s3://b?endpoint=http://127.0.0.1:1"},
			wantURL: "s3://b?endpoint=http://127.0.0.1:1",
			wantAct: actionUse,
		},
		{
			name:    "set wins over CI",
			env:     map[string]string{testVar: "mem://", "CI": "true"},
			wantURL: "mem://",
			wantAct: actionUse,
		},
		{
			name:    "set with surrounding space is trimmed",
			env:     map[string]string{testVar: "  mem://\n"},
			wantURL: "mem://",
			wantAct: actionUse,
		},
		{
			name:    "unset, no CI: skip",
			env:     map[string]string{},
			wantAct: actionSkip,
			wantMsg: []string{testVar, "make test", "skip"},
		},
		{
			name:    "blank, no CI: skip",
			env:     map[string]string{testVar: "   "},
			wantAct: actionSkip,
			wantMsg: []string{testVar, "make test"},
		},
		{
			name:    "unset, CI=false: skip",
			env:     map[string]string{"CI": "false"},
			wantAct: actionSkip,
			wantMsg: []string{testVar},
		},
		{
			name:    "unset, CI=garbage: skip",
			env:     map[string]string{"CI": "yes-please"},
			wantAct: actionSkip,
			wantMsg: []string{testVar},
		},
		{
			name:    "unset, CI=true: fail",
			env:     map[string]string{"CI": "true"},
			wantAct: actionFail,
			wantMsg: []string{testVar, "CI=true", "missing", "make test"},
		},
		{
			name:    "unset, CI=1: fail",
			env:     map[string]string{"CI": "1"},
			wantAct: actionFail,
			wantMsg: []string{testVar, "make test"},
		},
		{
			name:    "blank, CI=TRUE: fail",
			env:     map[string]string{testVar: "", "CI": "TRUE"},
			wantAct: actionFail,
			wantMsg: []string{testVar},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			url, act, msg := decide(getenv, testVar)
			if url != tt.wantURL || act != tt.wantAct {
				t.Fatalf("decide() = (%q, %v, %q), want (%q, %v, ...)", url, act, msg, tt.wantURL, tt.wantAct)
			}
			if act == actionUse && msg != "" {
				t.Errorf("decide() message = %q, want empty when the variable is set", msg)
			}
			if act != actionUse && msg == "" {
				t.Errorf("decide() message is empty for action %v", act)
			}
			for _, want := range tt.wantMsg {
				if !strings.Contains(msg, want) {
					t.Errorf("decide() message = %q, want it to contain %q", msg, want)
				}
			}
		})
	}
}

// TestURLSet checks URL returns the variable's value and lets the test run.
func TestURLSet(t *testing.T) {
	t.Setenv(testVar, "mem://x")
	t.Setenv("CI", "true")
	if got := URL(t, testVar); got != "mem://x" {
		t.Fatalf("URL() = %q, want %q", got, "mem://x")
	}
}

// TestURLSkips checks a real *testing.T is skipped (not failed) when the
// variable is missing outside CI.
func TestURLSkips(t *testing.T) {
	t.Setenv(testVar, "")
	t.Setenv("CI", "")
	var sub *testing.T
	reached := false
	ok := t.Run("sub", func(t *testing.T) {
		sub = t
		URL(t, testVar)
		reached = true
	})
	if !ok {
		t.Fatal("subtest failed; want it skipped")
	}
	if !sub.Skipped() {
		t.Error("subtest was not skipped")
	}
	if reached {
		t.Error("code after URL() ran; want the test to stop at the skip")
	}
}

// TestURLFailsInCI checks a real test fails when the variable is missing
// under CI=true. A failing test fails its parent too, so this runs itself
// again in a child process and inspects the outcome.
func TestURLFailsInCI(t *testing.T) {
	if os.Getenv("OBJSTORE_TESTENV_CHILD") == "1" {
		URL(t, testVar)
		t.Log("REACHED_AFTER_URL")
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestURLFailsInCI$", "-test.v", "-test.count=1")
	cmd.Env = append(withoutVars(os.Environ(), testVar, "CI", "OBJSTORE_TESTENV_CHILD"),
		"OBJSTORE_TESTENV_CHILD=1", "CI=true")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("child test passed; want it to fail. Output:\n%s", out)
	}
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("running child test: %v", err)
	}
	for _, want := range []string{"--- FAIL: TestURLFailsInCI", testVar, "CI=true", "make test"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("child output does not contain %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "REACHED_AFTER_URL") {
		t.Errorf("code after URL() ran in the child; want the test to stop at the failure:\n%s", out)
	}
}

func withoutVars(env []string, names ...string) []string {
	var out []string
outer:
	for _, kv := range env {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue outer
			}
		}
		out = append(out, kv)
	}
	return out
}

// TestEachS3 checks EachS3 runs f once per server, in order, with the
// server's URL, in a subtest named after it.
func TestEachS3(t *testing.T) {
	var got []string
	for i, srv := range S3Servers {
		t.Setenv(srv.URLVar, "mem://server"+strconv.Itoa(i))
	}
	EachS3(t, func(t *testing.T, srv S3Server, url string) {
		got = append(got, t.Name()+" "+url)
	})
	want := []string{"TestEachS3/minio mem://server0", "TestEachS3/versitygw mem://server1"}
	if !slices.Equal(got, want) {
		t.Errorf("EachS3 ran %q, want %q", got, want)
	}
}

// TestEachS3Skips checks a server whose variable is missing is skipped
// outside CI, and f does not run for it.
func TestEachS3Skips(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv(S3Servers[0].URLVar, "mem://here")
	t.Setenv(S3Servers[1].URLVar, "")
	var ran []string
	ok := t.Run("sub", func(t *testing.T) {
		EachS3(t, func(t *testing.T, srv S3Server, url string) { ran = append(ran, srv.Name) })
	})
	if !ok || !slices.Equal(ran, []string{"minio"}) {
		t.Errorf("EachS3 ran f for %q (ok %v); want minio only, versitygw skipped", ran, ok)
	}
}
