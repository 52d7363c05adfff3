package whip

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"chalkcast/engine"
	"chalkcast/internal/rtc"
)

// MediaTimeout drops a connected publisher that has sent no media for
// this long (a browser tab that froze, a cable pulled out: ICE notices
// that too, but only after its own timeouts).
const MediaTimeout = 10 * time.Second

// pliEvery bounds the keyframe requests a publisher is sent for lost or
// broken frames; viewers' requests are bounded by the engine.
const pliEvery = 500 * time.Millisecond

// publisher is one WHIP session: a peer connection that sends, feeding a
// stream's Publisher.
type publisher struct {
	p      *engine.Publisher
	pc     *rtc.Peer
	log    *slog.Logger
	remote string
	start  time.Time // the session's timeline starts here

	mu     sync.Mutex // the tracks' goroutines write p in turn
	closed bool       // no track starts after this
	tracks sync.WaitGroup

	videoSSRC atomic.Uint32
	lastPLI   atomic.Int64 // unix nanoseconds
	lastMedia atomic.Int64 // unix nanoseconds
}

// newPublisher answers offer with a peer connection that receives H.264
// and Opus into p.
func (s *Source) newPublisher(ctx context.Context, st *engine.Stream, p *engine.Publisher, offer, remote string) (*publisher, string, error) {
	pc, err := s.tr.NewPeer(s.sessions.Context())
	if err != nil {
		return nil, "", err
	}
	pub := &publisher{p: p, pc: pc, log: s.log.With("stream", st.Name()), remote: remote, start: time.Now()}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			_ = pc.Close()
			return nil, "", fmt.Errorf("webrtc: a %s transceiver: %w", k, err)
		}
	}
	pc.OnTrack(pub.track)
	answer, err := rtc.Answer(ctx, pc, offer)
	if err == nil {
		if got := rtc.Accepted(answer); got["video"] != "H264" {
			err = fmt.Errorf("%w: WHIP takes H.264 video (and Opus sound); the offer has no H.264", rtc.ErrOffer)
		}
	}
	if err != nil {
		_ = pc.Close()
		return nil, "", err
	}
	p.OnKeyframeRequest(pub.askKeyframe)
	return pub, answer, nil
}

// run holds the session until the publisher leaves, fails, stops sending,
// or is ended (DELETE, the key reset, the stream deleted, the server
// stopping), then closes the stream's publisher.
func (pub *publisher) run() {
	err := pub.wait()
	pub.mu.Lock()
	pub.closed = true
	pub.mu.Unlock()
	_ = pub.pc.Close()
	pub.tracks.Wait()
	pub.p.Close(err)
	if err != nil {
		pub.log.Warn("publisher dropped", "err", err)
	} else {
		pub.log.Info("publisher left")
	}
}

func (pub *publisher) wait() error {
	if !pub.pc.AwaitConnected(rtc.ConnectTimeout) {
		if pub.pc.Context().Err() != nil {
			return nil // DELETE, or the server stopping
		}
		return fmt.Errorf("whip: the publisher did not connect within %v", rtc.ConnectTimeout)
	}
	pub.log.Info("publisher connected", "remote", pub.remote)
	pub.lastMedia.Store(time.Now().UnixNano())
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-pub.pc.Context().Done():
			return nil // DELETE, or the peer closed or failed (its goodbye)
		case <-tick.C:
		}
		if pub.p.Closed() {
			return nil // the key was reset or the stream deleted
		}
		if since := time.Since(time.Unix(0, pub.lastMedia.Load())); since > MediaTimeout {
			return fmt.Errorf("whip: no media from the publisher for %v", since.Round(time.Second))
		}
	}
}

// askKeyframe sends the publisher a picture loss indication, at most one
// per pliEvery.
func (pub *publisher) askKeyframe() {
	ssrc := pub.videoSSRC.Load()
	now := time.Now().UnixNano()
	last := pub.lastPLI.Load()
	if ssrc == 0 || now-last < int64(pliEvery) || !pub.lastPLI.CompareAndSwap(last, now) {
		return
	}
	_ = pub.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}

// write hands one packet to the stream, from either track's goroutine.
func (pub *publisher) write(p *engine.Packet) {
	pub.mu.Lock()
	pub.p.WritePacket(p)
	pub.mu.Unlock()
}

// track reads one of the publisher's tracks until the session ends.
func (pub *publisher) track(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	pub.mu.Lock()
	if pub.closed {
		pub.mu.Unlock()
		return
	}
	pub.tracks.Add(1)
	pub.mu.Unlock()
	defer pub.tracks.Done()
	var err error
	switch mime := t.Codec().MimeType; {
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		pub.videoSSRC.Store(uint32(t.SSRC()))
		err = pub.readVideo(t)
	case strings.EqualFold(mime, webrtc.MimeTypeOpus):
		err = pub.readAudio(t)
	default:
		pub.log.Warn("publisher track ignored", "codec", mime)
		return
	}
	if err != nil && pub.pc.Context().Err() == nil {
		pub.log.Warn("publisher track ended", "kind", t.Kind().String(), "err", err)
	}
}

// since is the time on the session's timeline now.
func (pub *publisher) since() time.Duration {
	now := time.Now()
	pub.lastMedia.Store(now.UnixNano())
	return now.Sub(pub.start)
}

// readVideo feeds the publisher's H.264 into the stream.
func (pub *publisher) readVideo(t *webrtc.TrackRemote) error {
	in, err := newVideoIn(uint8(t.PayloadType()))
	if err != nil {
		return err
	}
	var announced *engine.CodecConfig
	pub.askKeyframe() // the first picture now, not at the publisher's next keyframe
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return err
		}
		p, broken := in.packet(pkt, pub.since())
		if broken {
			pub.askKeyframe()
		}
		if p == nil {
			continue
		}
		if p.Config != announced {
			announced = p.Config
			pub.log.Info("publisher video", "codec", p.Config.Codec, "width", p.Config.Width, "height", p.Config.Height, "profile", p.Config.Profile)
		}
		pub.write(p)
	}
}

// readAudio feeds the publisher's Opus into the stream as AAC.
func (pub *publisher) readAudio(t *webrtc.TrackRemote) error {
	ch := 1
	if strings.Contains(t.Codec().SDPFmtpLine, "stereo=1") {
		ch = 2
	}
	in, err := newAudioIn(ch)
	if err != nil {
		return err
	}
	defer in.close()
	pub.mu.Lock()
	pub.p.SetConfig(engine.TrackAudio, in.config())
	pub.mu.Unlock()
	broken := 0
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return err
		}
		out, bad, err := in.packet(pkt, pub.since())
		for _, p := range out {
			pub.write(p)
		}
		if err != nil {
			return err
		}
		if bad != nil {
			if broken++; broken == 1 || broken%500 == 0 {
				pub.log.Warn("publisher sent Opus that does not decode", "err", bad, "count", broken)
			}
		}
	}
}
