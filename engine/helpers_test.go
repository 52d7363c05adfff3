package engine

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitTimeout bounds every wait in these tests.
const waitTimeout = 3 * time.Second

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newTestHub is a hub without persistence, closed when the test ends.
func newTestHub(t *testing.T, cfg Config) *Hub {
	t.Helper()
	h, err := New(cfg, nil, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

// stopHousekeeping stops the once-a-second sampler so that a test can call
// sample with synthetic times alone. Close still works afterwards.
func stopHousekeeping(h *Hub) {
	h.cancel()
	h.wg.Wait()
}

func mustCreate(t *testing.T, h *Hub, name string) *Stream {
	t.Helper()
	s, err := h.Create(StreamConfig{Name: name})
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	return s
}

func mustPublish(t *testing.T, s *Stream) *Publisher {
	t.Helper()
	p, err := s.Publish(SourceInfo{Protocol: "test", Remote: "127.0.0.1:1"})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return p
}

func mustReader(t *testing.T, s *Stream) *Reader {
	t.Helper()
	rd, err := s.NewReader(nil)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	t.Cleanup(rd.Close)
	return rd
}

// video and audio make packets; the payload names the packet for messages.
func video(dts time.Duration, key bool) *Packet {
	return &Packet{Track: TrackVideo, Codec: CodecH264, DTS: dts, PTS: dts, Keyframe: key, Payload: []byte{0, 0, 0, 1, 0x65}}
}

func audio(dts time.Duration) *Packet {
	return &Packet{Track: TrackAudio, Codec: CodecAAC, DTS: dts, PTS: dts, Keyframe: true, Payload: []byte{0x21, 0x10}}
}

// readN reads exactly n packets (Next may return fewer per call).
func readN(t *testing.T, rd *Reader, n int) []*Packet {
	t.Helper()
	ctx := testCtx(t)
	var out []*Packet
	for len(out) < n {
		got, err := rd.Next(ctx, nil)
		out = append(out, got...)
		if err != nil {
			t.Fatalf("Next after %d/%d packets: %v", len(out), n, err)
		}
	}
	if len(out) != n {
		t.Fatalf("read %d packets, want %d", len(out), n)
	}
	return out
}

// expectNothing checks that no packet arrives within d (a bounded wait for
// something that must not happen).
func expectNothing(t *testing.T, rd *Reader, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	got, err := rd.Next(ctx, nil)
	if len(got) != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next = %d packets, %v; want nothing until the deadline", len(got), err)
	}
}

// waitEvent reads events until one of kind for stream arrives, returning
// the kinds seen on the way (including it).
func waitEvent(t *testing.T, sub *Subscription, kind EventKind, stream string) ([]EventKind, Event) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	var seen []EventKind
	for {
		select {
		case e, ok := <-sub.C:
			if !ok {
				t.Fatalf("subscription closed while waiting for %s (seen %v)", kind, seen)
			}
			if e.Stream != stream {
				continue
			}
			seen = append(seen, e.Kind)
			if e.Kind == kind {
				return seen, e
			}
		case <-timer.C:
			t.Fatalf("no %s event for %s (seen %v)", kind, stream, seen)
		}
	}
}
