package engine

import (
	"context"
	"errors"
	"testing"
	"time"
)

// tickKind publishes a video frame every 10 ms, a keyframe every fifth,
// starting at DTS 0 and with payload byte 4 set to its Options["mark"]
// (after frames that are not keyframes, to show a replaced source's
// leading P-frames are held back).
type tickKind struct{}

func (tickKind) Check(Source) error { return nil }

func (tickKind) Run(ctx context.Context, s *Stream) error {
	mark := s.Config().Source.Options["mark"][0]
	pub, err := s.Publish(SourceInfo{Protocol: "tick"})
	if err != nil {
		return err
	}
	defer pub.Close(nil)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		p := video(time.Duration(i)*10*time.Millisecond, i%5 == 0)
		p.Payload = []byte{0, 0, 0, 1, mark}
		pub.WritePacket(p)
	}
}

func TestSetSourceContinuesTheStream(t *testing.T) {
	h := newTestHub(t, Config{GracePeriod: 5 * time.Second})
	m := NewSources(h, map[string]SourceKind{"tick": tickKind{}}, nil)
	defer m.Close()
	sub := h.Subscribe(256)
	defer sub.Close()
	tick := func(mark string) Source { return Source{Type: "tick", Options: map[string]string{"mark": mark}} }
	s, err := h.Create(StreamConfig{Name: "a", Source: tick("a")})
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, sub, EventStreamLive, "a")
	rd := mustReader(t, s)
	readN(t, rd, 3)

	if err := h.SetSource("a", tick("b")); err != nil {
		t.Fatal(err)
	}
	if seen, _ := waitEvent(t, sub, EventStreamLive, "a"); seen[0] != EventSourceChanged {
		t.Errorf("events after SetSource: %v", seen)
	}
	if got := s.Config().Source.Options["mark"]; got != "b" {
		t.Errorf("source after SetSource: mark %q", got)
	}
	// The same reader goes on: timestamps rise, and the new source's
	// frames start with a keyframe.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var last time.Duration
	var sawB bool
	for !sawB {
		got, err := rd.Next(ctx, nil)
		if err != nil {
			t.Fatalf("reader after the switch: %v", err)
		}
		for _, p := range got {
			if p.DTS <= last {
				t.Fatalf("DTS %v after %v", p.DTS, last)
			}
			last = p.DTS
			if p.Payload[4] == 'b' && !sawB {
				sawB = true
				if !p.Keyframe {
					t.Error("the new source's first frame is not a keyframe")
				}
			}
		}
	}
	if s.State() != StateLive {
		t.Errorf("state %s", s.State())
	}
	if err := h.SetSource("nobody", tick("c")); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetSource of an unknown stream: %v", err)
	}
}

func TestSetSourceEndsAPush(t *testing.T) {
	h := newTestHub(t, Config{GracePeriod: time.Hour})
	s := mustCreate(t, h, "a")
	pub := mustPublish(t, s)
	if err := h.SetSource("a", Source{Type: PushSource, URL: "x"}); err != nil {
		t.Fatal(err)
	}
	if pub.Closed() {
		t.Error("a push stream that stays one ended its sender")
	}
	if err := h.SetSource("a", Source{Type: "tick"}); err != nil {
		t.Fatal(err)
	}
	if !pub.Closed() {
		t.Error("the sender of a stream that stopped taking pushes goes on")
	}
	if st := s.Stats(StatsOptions{}); st.State != StateReconnecting || st.LastError != "" {
		t.Errorf("after the switch: state %s, error %q", st.State, st.LastError)
	}
}

// retuneKind follows changes of its "layout" option without a restart.
type retuneKind struct{ *fakeKind }

func (retuneKind) Retunes(old, src Source) bool {
	return old.Options["mark"] == src.Options["mark"]
}

func TestRetunedSourcesKeepRunning(t *testing.T) {
	h := newTestHub(t, Config{GracePeriod: time.Hour})
	k := retuneKind{newFakeKind()}
	m := NewSources(h, map[string]SourceKind{"fake": k}, nil)
	defer m.Close()
	src := func(mark, layout string) Source {
		return Source{Type: "fake", Options: map[string]string{"mark": mark, "layout": layout}}
	}
	if _, err := h.Create(StreamConfig{Name: "a", Source: src("x", "pip")}); err != nil {
		t.Fatal(err)
	}
	waitCond(t, "source running", func() bool { return k.isRunning("a") })
	sub := h.Subscribe(16)
	defer sub.Close()
	if err := h.SetSource("a", src("x", "main")); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, sub, EventSourceRetuned, "a")
	if n := k.runs.Load(); n != 1 || !k.isRunning("a") {
		t.Errorf("a retuned source was restarted: %d runs", n)
	}
	if err := h.SetSource("a", src("y", "main")); err != nil {
		t.Fatal(err)
	}
	waitCond(t, "restart", func() bool { return k.runs.Load() == 2 && k.isRunning("a") })
}

func TestDetachedStreamsAreNotTheHubs(t *testing.T) {
	h := newTestHub(t, Config{})
	sub := h.Subscribe(16)
	defer sub.Close()
	s, release := h.Detached("scene-a/1", Source{Type: "rtsp"})
	p := mustPublish(t, s)
	rd := mustReader(t, s)
	p.WritePacket(video(0, true))
	if got := readN(t, rd, 1); !got[0].Keyframe {
		t.Error("the detached stream's packet is not the one written")
	}
	if _, ok := h.Get("scene-a/1"); ok || len(h.Streams()) != 0 {
		t.Error("a detached stream is listed")
	}
	release()
	if _, err := s.Publish(SourceInfo{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("publish after release: %v", err)
	}
	select {
	case e := <-sub.C:
		t.Errorf("a detached stream published %s", e.Kind)
	default:
	}
}
