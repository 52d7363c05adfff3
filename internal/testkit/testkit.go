// Package testkit holds what Chalkcast's tests in several packages need:
// waiting for a condition, requiring the real tools tests run against,
// bounding what a parser may allocate, and serving and calling the API
// endpoints of one output.
package testkit

import (
	"os"
	"os/exec"
	"runtime"
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

// MaxAlloc runs f and fails the test when it allocated more than limit
// bytes on the heap in all (freed or not: a parser that allocates from a
// declared length is caught even when the garbage collector keeps up).
// Fuzz targets use it with a limit that grows with the input, such as
// 64 KiB + 16 bytes per input byte: the fuzzing engine runs one input at
// a time in each process, so what was allocated meanwhile is f's. Each
// call costs two short stops of the world (runtime.ReadMemStats), a few
// microseconds.
func MaxAlloc(t testing.TB, limit int, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > uint64(limit) {
		t.Fatalf("allocated %d bytes, more than the %d allowed", got, limit)
	}
}

// InputBound is the allocation limit of a parser of n untrusted bytes that
// keeps a few copies of its input: 64 KiB, and 16 bytes per input byte.
func InputBound(n int) int { return 64<<10 + 16*n }

// ToneHz is the frequency of the tone in mono samples at rate Hz, from
// its zero crossings.
func ToneHz(mono []float32, rate int) float64 {
	crossings := 0
	for i := 1; i < len(mono); i++ {
		if (mono[i-1] < 0) != (mono[i] < 0) {
			crossings++
		}
	}
	return float64(crossings) / 2 / (float64(len(mono)) / float64(rate))
}
