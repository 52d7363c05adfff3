// Package testkit holds what Chalkcast's tests in several packages need:
// waiting for a condition, and requiring the real tools tests run against.
package testkit

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// WaitFor polls cond every 20 ms until it holds, failing the test after d.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// NeedTools skips the test when a program is not installed, except in CI,
// where the set-up script installs them all and a missing one fails.
func NeedTools(t testing.TB, names ...string) {
	t.Helper()
	for _, b := range names {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required in CI: %v", b, err)
			}
			t.Skipf("%s not installed", b)
		}
	}
}
