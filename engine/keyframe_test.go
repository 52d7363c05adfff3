package engine

import "testing"

// TestRequestKeyframe: a request reaches the publisher that can make
// keyframes, at most once per KeyframeEvery however many viewers ask, and
// a publisher that cannot is never asked.
func TestRequestKeyframe(t *testing.T) {
	h := newTestHub(t, Config{})
	s := mustCreate(t, h, "k")
	if s.RequestKeyframe() {
		t.Error("a stream without a publisher was asked")
	}
	p := mustPublish(t, s)
	if s.RequestKeyframe() {
		t.Error("a publisher that cannot make keyframes was asked")
	}
	asked := 0
	p.OnKeyframeRequest(func() { asked++ })
	if !s.RequestKeyframe() {
		t.Error("the first request was not passed on")
	}
	for range 100 {
		s.RequestKeyframe()
	}
	if asked != 1 {
		t.Errorf("101 requests within a second asked the source %d times, want 1", asked)
	}
	s.c.keyAsked.Add(-int64(KeyframeEvery)) // a second later
	if !s.RequestKeyframe() || asked != 2 {
		t.Errorf("a request a second later: asked %d times, want 2", asked)
	}
	p.Close(nil)
	if s.RequestKeyframe() {
		t.Error("a closed publisher was asked")
	}
}
