package engine

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// Viewer is one counted viewer of a stream. Outputs call Writing before a
// write that may block, AddBytes after it, and Leave when the viewer is
// gone; an output that can end its viewer's connection says how with
// OnEvict.
type Viewer struct {
	id      uint64
	s       *Stream
	info    ViewerInfo
	ip      string
	since   time.Time
	bytes   atomic.Uint64
	skips   atomic.Uint64
	left    atomic.Bool
	writing atomic.Int64 // when the write in progress started (Unix ns), 0 when none
	evict   atomic.Pointer[func()]
}

// full is the refusal of a viewer when a limit is reached; holds says
// which viewers count against that limit, so that a stalled one of them
// can give its place.
type full struct {
	msg   string
	holds func(*Viewer) bool
}

func (f *full) Error() string { return ErrLimit.Error() + ": " + f.msg }
func (f *full) Unwrap() error { return ErrLimit }

// Join counts a new viewer, refusing with ErrLimit when the stream's, the
// hub's or the client address's viewer limit is reached and no viewer
// that holds a place under that limit has stopped reading: a client that
// opens connections and never reads them cannot keep real viewers out for
// longer than StallAfter.
func (s *Stream) Join(info ViewerInfo) (*Viewer, error) {
	v := &Viewer{s: s, info: info, ip: remoteIP(info.Remote), since: time.Now()}
	err := s.add(v)
	var f *full
	if errors.As(err, &f) && s.hub.evictStalled(f.holds) {
		err = s.add(v)
	}
	if err != nil {
		return nil, err
	}
	s.publish(Event{Kind: EventViewerJoined, Stream: s.name, Viewer: v.stats()})
	return v, nil
}

// add counts v within the limits. admitMu makes the checks and the counts
// one step, so that concurrent joins cannot overshoot a limit.
func (s *Stream) add(v *Viewer) error {
	h := s.hub
	h.admitMu.Lock()
	defer h.admitMu.Unlock()
	if n := h.viewers.Load(); n >= int64(h.cfg.MaxViewers) {
		return &full{fmt.Sprintf("%d viewers in all", h.cfg.MaxViewers), func(*Viewer) bool { return true }}
	}
	if h.byAddr[v.ip] >= h.cfg.MaxViewersPerAddr {
		return &full{fmt.Sprintf("%d viewers from address %s", h.cfg.MaxViewersPerAddr, v.ip), func(o *Viewer) bool { return o.ip == v.ip }}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deleted {
		return ErrNotFound
	}
	if len(s.viewers) >= h.cfg.MaxViewersPerStream {
		return &full{fmt.Sprintf("%d viewers on stream %s", h.cfg.MaxViewersPerStream, s.name), func(o *Viewer) bool { return o.s == s }}
	}
	s.nextViewer++
	v.id = s.nextViewer
	s.viewers[v.id] = v
	s.peak = max(s.peak, len(s.viewers))
	h.viewers.Add(1)
	h.byAddr[v.ip]++
	return nil
}

// evictStalled ends one viewer that holds a place and whose write has
// been blocked for StallAfter, and reports whether it found one.
func (h *Hub) evictStalled(holds func(*Viewer) bool) bool {
	now := time.Now().UnixNano()
	var stalled *Viewer
	for _, s := range h.Streams() {
		s.mu.Lock()
		for _, v := range s.viewers {
			if t := v.writing.Load(); t != 0 && now-t >= int64(h.cfg.StallAfter) && v.evict.Load() != nil && holds(v) {
				stalled = v
				break
			}
		}
		s.mu.Unlock()
		if stalled != nil {
			break
		}
	}
	if stalled == nil {
		return false
	}
	h.log.Info("viewer dropped: it stopped reading and its place was needed", "stream", stalled.s.name, "remote", stalled.info.Remote, "protocol", stalled.info.Protocol)
	stalled.Leave()
	(*stalled.evict.Load())()
	return true
}

// remoteIP is the IP address of a host:port, or the whole when it has no
// port.
func remoteIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// OnEvict tells how to end the viewer's connection when it stopped
// reading and its place is needed. f must not block.
func (v *Viewer) OnEvict(f func()) { v.evict.Store(&f) }

// Writing marks the start of a write that may block; AddBytes ends it.
func (v *Viewer) Writing() { v.writing.Store(time.Now().UnixNano()) }

// AddBytes counts n bytes sent to the viewer.
func (v *Viewer) AddBytes(n int) {
	v.writing.Store(0)
	v.bytes.Add(uint64(n))
	v.s.c.bytesOut.Add(uint64(n))
}

// Leave removes the viewer from the counts. It is safe to call twice.
func (v *Viewer) Leave() {
	if v.left.Swap(true) {
		return
	}
	s := v.s
	h := s.hub
	h.admitMu.Lock()
	s.mu.Lock()
	delete(s.viewers, v.id)
	s.mu.Unlock()
	h.viewers.Add(-1)
	if h.byAddr[v.ip]--; h.byAddr[v.ip] <= 0 {
		delete(h.byAddr, v.ip)
	}
	h.admitMu.Unlock()
	s.c.skips.Add(v.skips.Load())
	h.events.publish(Event{Kind: EventViewerLeft, Stream: s.name, Viewer: v.stats()})
}
