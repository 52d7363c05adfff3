package engine

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// One client cannot take every place: viewers are bounded per address,
// and a viewer that stopped reading gives its place to a new one.
func TestViewersPerAddressAndStalled(t *testing.T) {
	h := newTestHub(t, Config{MaxViewersPerAddr: 3, MaxViewersPerStream: 5, StallAfter: 50 * time.Millisecond})
	s := mustCreate(t, h, "a")
	var hog []*Viewer
	var evicted atomic.Int32
	for i := range 3 {
		v, err := s.Join(ViewerInfo{Protocol: "flv", Remote: "10.0.0.9:" + string(rune('1'+i))})
		if err != nil {
			t.Fatal(err)
		}
		v.OnEvict(func() { evicted.Add(1) })
		hog = append(hog, v)
	}
	if _, err := s.Join(ViewerInfo{Protocol: "flv", Remote: "10.0.0.9:9"}); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "from address 10.0.0.9") {
		t.Fatalf("a fourth viewer from one address: %v, want the per-address limit", err)
	}
	// Another address (a classroom's other NAT) is not affected.
	other, err := s.Join(ViewerInfo{Protocol: "flv", Remote: "[2001:db8::1]:443"})
	if err != nil {
		t.Fatalf("a viewer from another address: %v", err)
	}
	// A viewer whose writes go through keeps its place; one whose write
	// stays blocked loses it when a new viewer needs it.
	hog[0].Writing()
	hog[0].AddBytes(10)
	hog[1].Writing()
	time.Sleep(60 * time.Millisecond)
	v, err := s.Join(ViewerInfo{Protocol: "flv", Remote: "10.0.0.9:10"})
	if err != nil {
		t.Fatalf("a new viewer with a stalled one in place: %v", err)
	}
	if evicted.Load() != 1 || !hog[1].left.Load() || hog[0].left.Load() || hog[2].left.Load() {
		t.Fatalf("evicted %d; left: %v %v %v", evicted.Load(), hog[0].left.Load(), hog[1].left.Load(), hog[2].left.Load())
	}
	// The same for the per-stream limit: five places, none stalled.
	if _, err := s.Join(ViewerInfo{Protocol: "rtmp", Remote: "10.0.0.7:1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Join(ViewerInfo{Protocol: "rtmp", Remote: "10.0.0.7:2"}); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "on stream a") {
		t.Fatalf("a sixth viewer: %v, want the per-stream limit", err)
	}
	for _, x := range []*Viewer{hog[0], hog[2], v, other} {
		x.Leave()
	}
	if n := h.viewers.Load(); n != 1 {
		t.Errorf("%d viewers counted after they left, want 1", n)
	}
	h.admitMu.Lock()
	defer h.admitMu.Unlock()
	if len(h.byAddr) != 1 || h.byAddr["10.0.0.7"] != 1 {
		t.Errorf("per-address counts %v", h.byAddr)
	}
}
