package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// relaunch starts the same program again with the arguments and the
// environment it is given (the studio gives its own arguments and the
// environment from before the language setting changed LC_ALL). Here the
// program is this test binary, asked to run only this test: the second
// run finds the marker in its environment and writes what it got.
func TestRelaunchStartsTheSameProgramAgain(t *testing.T) {
	if out := os.Getenv("CHALKCAST_RELAUNCHED"); out != "" {
		_ = os.WriteFile(out, []byte(os.Getenv("LC_ALL")+" "+strings.Join(os.Args[1:], " ")), 0o644)
		return
	}
	out := filepath.Join(t.TempDir(), "relaunched")
	only := "-test.run=^TestRelaunchStartsTheSameProgramAgain$"
	if err := relaunch([]string{only}, []string{"CHALKCAST_RELAUNCHED=" + out, "LC_ALL=C.UTF-8"}); err != nil {
		t.Fatal(err)
	}
	want := "C.UTF-8 " + only
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(out)
		if string(b) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second run wrote %q, want %q", b, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
