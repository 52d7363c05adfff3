package webrtc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"chalkcast/engine"
	"chalkcast/internal/rtc"
)

// firstPacket bounds the wait for a live stream's first packet, which
// says what the viewer will be sent.
const firstPacket = 5 * time.Second

// viewer is one WHEP session.
type viewer struct {
	o    *Output
	s    *engine.Stream
	v    *engine.Viewer
	rd   *engine.Reader
	pc   *rtc.Peer
	feed *feed // the stream's Opus, when its sound is AAC

	video, audio *track
	// pass is the ring's audio codec sent as it is (Opus, G.711), or
	// engine.CodecUnknown
	pass  engine.Codec
	first []*engine.Packet

	closeOnce sync.Once
}

// newViewer sets up a peer connection for s's codecs, waiting for the
// stream's first packet.
func (o *Output) newViewer(s *engine.Stream, v *engine.Viewer) (*viewer, error) {
	rd, err := s.NewReader(v)
	if err != nil {
		return nil, err
	}
	rd.Eager() // every RTP packet is its own write: batching would only delay them
	ctx, cancel := context.WithTimeout(o.sessions.Context(), firstPacket)
	first, err := rd.Next(ctx, nil)
	cancel()
	if err != nil {
		rd.Close()
		return nil, fmt.Errorf("stream %s: %w", s.Name(), engine.ErrNotLive)
	}
	vw := &viewer{o: o, s: s, v: v, rd: rd, first: first}
	if vw.pc, err = o.tr.NewPeer(o.sessions.Context()); err != nil {
		rd.Close()
		return nil, err
	}
	video, audio := s.Configs()
	if err := vw.tracks(video, audio); err != nil {
		_ = vw.pc.Close()
		rd.Close()
		return nil, err
	}
	for _, t := range []*track{vw.video, vw.audio} {
		if t == nil {
			continue
		}
		sender, err := vw.pc.AddTrack(t)
		if err != nil {
			vw.close()
			return nil, fmt.Errorf("webrtc: add the %s track: %w", t.kind, err)
		}
		go vw.readRTCP(sender)
	}
	v.OnEvict(vw.end)
	return vw, nil
}

// tracks chooses what the viewer is sent.
func (vw *viewer) tracks(video, audio *engine.CodecConfig) error {
	if video != nil {
		if video.Codec != engine.CodecH264 {
			return fmt.Errorf("%w: this stream's video is %s", errCodec, video.Codec)
		}
		if vw.s.Reordered() {
			return errBFrames
		}
		vw.video = newTrack(webrtc.RTPCodecTypeVideo, rtc.H264)
	}
	if audio != nil {
		switch audio.Codec {
		case engine.CodecAAC:
			vw.audio = newTrack(webrtc.RTPCodecTypeAudio, rtc.Opus)
			vw.feed = vw.o.join(vw.s)
		case engine.CodecOpus:
			vw.audio, vw.pass = newTrack(webrtc.RTPCodecTypeAudio, rtc.Opus), audio.Codec
		case engine.CodecPCMU:
			vw.audio, vw.pass = newTrack(webrtc.RTPCodecTypeAudio, rtc.PCMU), audio.Codec
		case engine.CodecPCMA:
			vw.audio, vw.pass = newTrack(webrtc.RTPCodecTypeAudio, rtc.PCMA), audio.Codec
		}
	}
	if vw.video == nil && vw.audio == nil {
		return fmt.Errorf("%w: this stream has neither", errCodec)
	}
	return nil
}

// end stops the session from outside (DELETE, eviction).
func (vw *viewer) end() { vw.pc.Stop() }

// close frees what newViewer made, for a session that never ran.
func (vw *viewer) close() {
	vw.closeOnce.Do(func() {
		_ = vw.pc.Close()
		vw.rd.Close()
		if vw.feed != nil {
			vw.o.leave(vw.feed)
		}
		vw.v.Leave()
	})
}

// run sends the stream once the player has connected, until the stream
// ends, the player goes or the session is ended.
func (vw *viewer) run() {
	defer vw.close()
	if !vw.pc.AwaitConnected(rtc.ConnectTimeout) {
		return
	}
	if vw.feed != nil {
		go vw.sendFeed()
	}
	err := vw.sendRing()
	switch {
	case errors.Is(err, errBFrames):
		vw.o.log.Info("WHEP viewer sent to HTTP-FLV", "stream", vw.s.Name(), "err", err)
	case err != nil && !errors.Is(err, context.Canceled):
		vw.o.log.Debug("WHEP viewer ended", "stream", vw.s.Name(), "err", err)
	}
}

// backlogStep is how far apart in time the frames already waiting when a
// viewer connects (the newest keyframe and what followed it) are sent:
// the player decodes them at once and shows the newest, instead of
// replaying them late.
const backlogStep = time.Millisecond

// sendRing sends the ring's video, and its sound when it passes as it is.
func (vw *viewer) sendRing() error {
	batch := vw.first
	vw.first = nil
	for {
		more, _, err := vw.rd.TryNext(nil)
		if err != nil || len(more) == 0 {
			break
		}
		batch = append(batch, more...)
	}
	// the backlog's video frames are squeezed before its newest one
	frames, newest := 0, time.Duration(0)
	for _, p := range batch {
		if p.Track == engine.TrackVideo {
			frames++
			newest = p.PTS
		}
	}
	squeeze := frames
	for {
		n := 0
		vw.v.Writing()
		for _, p := range batch {
			switch {
			case p.Track == engine.TrackVideo && vw.s.Reordered():
				// the player would stutter: it goes over to HTTP-FLV
				return errBFrames
			case p.Track == engine.TrackVideo && vw.video != nil && p.Codec == engine.CodecH264:
				pts := p.PTS
				if squeeze > 0 {
					squeeze--
					pts = newest - time.Duration(squeeze)*backlogStep
				}
				w, err := vw.sendVideo(p, pts)
				if err != nil {
					return err
				}
				n += w
			case p.Track == engine.TrackAudio && vw.pass != engine.CodecUnknown && p.Codec == vw.pass && p.PTS >= newest:
				w, err := vw.audio.write(p.Payload, rtpTime(p.PTS, vw.audio.rate), true)
				if err != nil {
					return err
				}
				n += w
			}
		}
		vw.v.AddBytes(n)
		var err error
		if batch, err = vw.rd.Next(vw.pc.Context(), batch[:0]); err != nil {
			return err
		}
	}
}

// sendVideo sends one access unit at presentation time pts.
func (vw *viewer) sendVideo(p *engine.Packet, pts time.Duration) (int, error) {
	wire := p.Wire(rtpH264{}, packetizeH264)
	ts := rtpTime(pts, 90000)
	n := 0
	for len(wire) >= 2 {
		size := int(binary.BigEndian.Uint16(wire))
		payload := wire[2 : 2+size]
		wire = wire[2+size:]
		w, err := vw.video.write(payload, ts, len(wire) == 0)
		if err != nil {
			return n, err
		}
		n += w
	}
	return n, nil
}

// sendFeed sends the stream's transcoded Opus from its newest frame on.
func (vw *viewer) sendFeed() {
	defer vw.pc.Stop()
	seq := vw.feed.newest()
	var frames []opusFrame
	for {
		var err error
		frames, seq, err = vw.feed.next(vw.pc.Context(), seq, frames[:0])
		if err != nil {
			return
		}
		n := 0
		for _, f := range frames {
			w, err := vw.audio.write(f.payload, rtpTime(f.pts, 48000), true)
			if err != nil {
				return
			}
			n += w
		}
		vw.v.AddBytes(n)
	}
}

// readRTCP reads what the player reports on a sender (NACKs are answered
// by the transport's interceptors on the way) and passes a request for a
// picture (PLI, FIR) on to the source.
func (vw *viewer) readRTCP(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				vw.s.RequestKeyframe()
			}
		}
	}
}

// rtpTime is pts on an RTP clock of rate Hz.
func rtpTime(pts time.Duration, rate int) uint32 {
	return uint32(int64(pts) / 1000 * int64(rate) / 1000000)
}

// track is one of a viewer's tracks. Each viewer has its own, with its own
// sequence numbers: packets skipped when it fell behind leave no gap that
// it would ask to have resent.
type track struct {
	kind webrtc.RTPCodecType
	want webrtc.RTPCodecCapability
	rate int
	id   string

	mu   sync.Mutex
	w    webrtc.TrackLocalWriter
	ssrc uint32
	pt   uint8
	seq  uint16
}

func newTrack(kind webrtc.RTPCodecType, c webrtc.RTPCodecCapability) *track {
	return &track{kind: kind, want: c, rate: int(c.ClockRate), id: kind.String(), seq: uint16(rand.Uint32())}
}

// Bind takes the codec the player agreed to: the same kind, and for H.264
// the packetization mode the payloads are cut for.
func (t *track) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if !strings.EqualFold(c.MimeType, t.want.MimeType) {
			continue
		}
		if t.kind == webrtc.RTPCodecTypeVideo && !strings.Contains(c.SDPFmtpLine, "packetization-mode=1") {
			continue
		}
		t.mu.Lock()
		t.w, t.ssrc, t.pt = ctx.WriteStream(), uint32(ctx.SSRC()), uint8(c.PayloadType)
		t.mu.Unlock()
		return c, nil
	}
	return webrtc.RTPCodecParameters{}, fmt.Errorf("%w: the player takes no %s", errCodec, t.want.MimeType)
}

// Unbind forgets the writer.
func (t *track) Unbind(webrtc.TrackLocalContext) error {
	t.mu.Lock()
	t.w = nil
	t.mu.Unlock()
	return nil
}

func (t *track) ID() string                { return t.id }
func (t *track) RID() string               { return "" }
func (t *track) StreamID() string          { return "chalkcast" }
func (t *track) Kind() webrtc.RTPCodecType { return t.kind }

// errUnbound is a write to a track the peer connection no longer sends.
var errUnbound = errors.New("webrtc: the track is not being sent")

// write sends one RTP packet. Each has its own header: the NACK
// responder keeps it, with the shared payload, to resend it.
func (t *track) write(payload []byte, ts uint32, marker bool) (int, error) {
	t.mu.Lock()
	w := t.w
	h := &rtp.Header{Version: 2, Marker: marker, PayloadType: t.pt, SequenceNumber: t.seq, Timestamp: ts, SSRC: t.ssrc}
	t.seq++
	t.mu.Unlock()
	if w == nil {
		return 0, errUnbound
	}
	return w.WriteRTP(h, payload)
}
