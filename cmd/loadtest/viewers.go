//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"chalkcast/internal/rtctest"
	"chalkcast/internal/rtmpconn"
	"chalkcast/media/flv"
)

// viewer is one HTTP-FLV, RTMP or WebRTC client.
type viewer struct {
	frames    atomic.Int64
	bytes     atomic.Int64
	latencies []time.Duration // appended by the viewer goroutine while measuring
	// atSocket are the latencies to the viewer's socket (WebRTC: the
	// kernel's receive timestamps), without this process's own delay
	atSocket []time.Duration
	mu       sync.Mutex
}

// watcher is one viewer's connection while it reads.
type watcher struct {
	v         *viewer
	st        *sendTimes
	measuring *atomic.Bool
	firstKey  bool
	start     time.Time
}

// tag counts one FLV tag of size bytes whose body starts with head; with
// firstKey it reports the wait for the first video keyframe (done).
func (w *watcher) tag(typ byte, ts uint32, head []byte, size int) (wait time.Duration, done bool) {
	if w.v != nil {
		w.v.bytes.Add(int64(size))
	}
	if typ != flv.TagVideo || len(head) < 2 || head[1] != 1 { // a coded frame, not a sequence header
		return 0, false
	}
	now := time.Now()
	if w.firstKey && head[0]>>4 == 1 {
		return now.Sub(w.start), true
	}
	w.frame(ts, now, time.Time{})
	return 0, false
}

// frame counts a video frame with timestamp ts (ms) that this process
// read at now (and that reached its socket at socket, if known), and while
// measuring, how long after the publisher sent it.
func (w *watcher) frame(ts uint32, now, socket time.Time) {
	if w.v == nil {
		return
	}
	w.v.frames.Add(1)
	if w.measuring.Load() {
		if sent, ok := w.st.get(ts); ok {
			w.v.mu.Lock()
			w.v.latencies = append(w.v.latencies, now.Sub(sent))
			if !socket.IsZero() {
				w.v.atSocket = append(w.v.atSocket, socket.Sub(sent))
			}
			w.v.mu.Unlock()
		}
	}
}

// watch reads the stream over proto; with firstKey it returns as soon as
// the first video keyframe has arrived, giving the time that took.
func watch(ctx context.Context, proto string, c config, v *viewer, st *sendTimes, measuring *atomic.Bool, firstKey bool) (time.Duration, error) {
	w := &watcher{v: v, st: st, measuring: measuring, firstKey: firstKey, start: time.Now()}
	switch proto {
	case "rtmp":
		return w.rtmp(ctx, c.rtmpAddr)
	case "webrtc":
		return w.webrtc(ctx, c.httpAddr)
	}
	return w.flv(ctx, c.httpAddr)
}

// webrtc plays over WHEP with a pion peer connection. A frame has arrived
// with its last packet (the marker); its RTP time is the publisher's
// timestamp on a 90 kHz clock (Chalkcast keeps the publisher's timeline).
// Hundreds of pion players on the server's two cores read a frame's
// packets well after they arrived: the latency at the socket is what the
// server added.
func (w *watcher) webrtc(ctx context.Context, addr string) (time.Duration, error) {
	p, err := rtctest.Dial(ctx, "http://"+addr+"/live/load/whep", rtctest.Options{OnVideo: func(pkt *rtp.Packet, at rtctest.Arrival) {
		if pkt.Marker && !w.firstKey {
			w.frame(pkt.Timestamp/90, at.Read, at.Socket)
		}
	}})
	if err != nil {
		return 0, err
	}
	defer p.Close()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
		}
		if w.firstKey && p.Keyframes.Load() > 0 {
			return p.FirstKeyframe(), nil
		}
		if w.v != nil {
			w.v.bytes.Store(p.Bytes.Load())
		}
		if st := p.State(); st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			return 0, fmt.Errorf("peer connection %s", st)
		}
	}
}

func (w *watcher) flv(ctx context.Context, addr string) (time.Duration, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	fmt.Fprintf(c, "GET /live/load.flv HTTP/1.1\r\nHost: %s\r\nUser-Agent: chalkcast-loadtest\r\n\r\n", addr)
	br := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, err
	}
	// No resp.Body.Close: it would read the endless live body to its end;
	// closing the connection (deferred above) ends it.
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	body := bufio.NewReaderSize(resp.Body, 64<<10)
	if _, err := body.Discard(13); err != nil {
		return 0, err
	}
	var h [13]byte
	for {
		if _, err := io.ReadFull(body, h[:11]); err != nil {
			return 0, err
		}
		size := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
		ts := uint32(h[7])<<24 | uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6])
		head := h[11:11]
		if h[0] == flv.TagVideo && size >= 2 {
			if _, err := io.ReadFull(body, h[11:13]); err != nil {
				return 0, err
			}
			head = h[11:13]
		}
		if wait, done := w.tag(h[0], ts, head, size+15); done {
			return wait, nil
		}
		if _, err := body.Discard(size + 4 - len(head)); err != nil {
			return 0, err
		}
	}
}

func (w *watcher) rtmp(ctx context.Context, addr string) (time.Duration, error) {
	c, name, err := rtmpconn.Dial(ctx, "rtmp://"+addr+"/live/load")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Play(name); err != nil {
		return 0, err
	}
	for {
		m, err := c.ReadMessage()
		if err != nil {
			return 0, err
		}
		typ := byte(flv.TagAudio)
		switch m.Type {
		case rtmpconn.TypeVideo:
			typ = flv.TagVideo
		case rtmpconn.TypeAudio:
		default:
			continue
		}
		if wait, done := w.tag(typ, m.Timestamp, m.Body, len(m.Body)+12); done {
			return wait, nil
		}
	}
}
