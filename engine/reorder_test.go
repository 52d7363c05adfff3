package engine

import (
	"testing"
	"time"
)

// TestReorderedVideo: a constant composition offset is not reordering;
// B-frames (a picture shown before the one decoded ahead of it) are, until
// the next publisher.
func TestReorderedVideo(t *testing.T) {
	h := newTestHub(t, Config{})
	s := mustCreate(t, h, "class")
	pub := mustPublish(t, s)
	cfg := &CodecConfig{Codec: CodecH264, Width: 640, Height: 360}
	at := func(dts, pts time.Duration, key bool) {
		p := video(dts, key)
		p.PTS, p.Config = pts, cfg
		pub.WritePacket(p)
	}
	ms := time.Millisecond
	for i := range 5 {
		d := time.Duration(i) * 33 * ms
		at(d, d+66*ms, i == 0) // an encoder that delays every picture alike
	}
	if s.Reordered() {
		t.Fatal("a constant offset was taken for B-frames")
	}
	// decode order I P B B: shown I B B P
	at(200*ms, 300*ms, true)
	at(233*ms, 400*ms, false)
	at(266*ms, 333*ms, false)
	if !s.Reordered() {
		t.Fatal("B-frames not noticed")
	}
	if st := s.Stats(StatsOptions{}); st.Video == nil || !st.Video.BFrames {
		t.Errorf("stats video %+v", st.Video)
	}
	pub.Close(nil)
	mustPublish(t, s)
	if s.Reordered() {
		t.Error("a new publisher inherited the B-frames")
	}
}

// A stream tells when it was last live while it is not, and only after it
// has been.
func TestEndedAt(t *testing.T) {
	h := newTestHub(t, Config{GracePeriod: 10 * time.Millisecond})
	s := mustCreate(t, h, "class")
	if st := s.Stats(StatsOptions{}); st.EndedAt != nil {
		t.Fatalf("never live, ended at %v", st.EndedAt)
	}
	pub := mustPublish(t, s)
	pub.WritePacket(video(0, true))
	if st := s.Stats(StatsOptions{}); st.EndedAt != nil || st.LiveSince == nil {
		t.Fatalf("live: %+v", st)
	}
	before := time.Now()
	pub.Close(nil)
	deadline := time.Now().Add(5 * time.Second)
	for s.State().Active() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := s.Stats(StatsOptions{}); st.EndedAt == nil || st.EndedAt.Before(before) || st.LiveSince != nil {
		t.Errorf("after the class: %+v", st)
	}
}
