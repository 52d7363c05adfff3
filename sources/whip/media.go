package whip

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/pion/rtp"

	"chalkcast/engine"
	"chalkcast/media/audio"
	"chalkcast/media/decode"
	"chalkcast/media/encode"
	"chalkcast/media/rtpin"
)

// What a publisher sends is turned into packets here, one RTP packet at
// a time, apart from the peer connection (FuzzMedia). The H.264 decoder
// bounds an access unit's size and NAL unit count; a packet's size is
// bounded by the transport's receive buffer.

// videoIn turns H.264 RTP into access units, and those into packets.
type videoIn struct {
	d     *rtph264.Decoder
	v     *rtpin.Video
	clock *rtpin.Clock
}

func newVideoIn(payloadType uint8) (*videoIn, error) {
	f := format.H264{PayloadTyp: payloadType, PacketizationMode: 1}
	d, err := f.CreateDecoder()
	if err != nil {
		return nil, fmt.Errorf("whip: H.264 depacketizer: %w", err)
	}
	return &videoIn{d: d, v: rtpin.NewVideo(engine.CodecH264), clock: rtpin.NewClock(rtpin.VideoClock)}, nil
}

// packet takes one RTP packet that arrived since after the session
// started and returns the packet of the access unit it completes, if
// any; broken is set when a frame was lost or cannot be used, or none can
// be decoded yet (the publisher is asked for a keyframe).
func (in *videoIn) packet(pkt *rtp.Packet, since time.Duration) (p *engine.Packet, broken bool) {
	pts := in.clock.PTS(pkt.Timestamp, since)
	au, err := in.d.Decode(pkt)
	if err != nil {
		return nil, !errors.Is(err, rtph264.ErrMorePacketsNeeded)
	}
	p, err = in.v.Access(au, pts)
	if err != nil || p == nil {
		return nil, err != nil || in.v.Config() == nil
	}
	return p, false
}

// audioIn decodes Opus and encodes it to AAC at 48 kHz, once for every
// output. The AAC packets carry the publisher's own Opus too
// (engine.Packet.Opus), which WebRTC viewers are sent as it came.
type audioIn struct {
	ch    int
	dec   *decode.Audio
	aac   *rtpin.AAC
	clock *rtpin.Clock
	rs    *audio.Resampler
	rsIn  int // channels the resampler takes
	pcm   []int16

	opusCfg   *engine.CodecConfig
	base, cfg *engine.CodecConfig // the encoder's configuration, and it announcing the Opus
	opus      []engine.OpusFrame  // Opus no AAC packet carries yet, timed from the session's start
}

// maxOpusWaiting bounds the Opus frames waiting for an AAC packet (one
// comes every 21 ms): a second's worth.
const maxOpusWaiting = 50

func newAudioIn(ch int) (*audioIn, error) {
	opus := &engine.CodecConfig{Codec: engine.CodecOpus, SampleRate: encode.OpusRate, Channels: ch, Record: encode.OpusHead(ch)}
	dec, err := decode.NewAudio(opus)
	if err != nil {
		return nil, fmt.Errorf("whip: Opus decoder: %w", err)
	}
	aac, err := rtpin.NewAAC(encode.OpusRate, ch)
	if err != nil {
		dec.Close()
		return nil, fmt.Errorf("whip: AAC encoder: %w", err)
	}
	return &audioIn{ch: ch, dec: dec, aac: aac, clock: rtpin.NewClock(encode.OpusRate), opusCfg: opus}, nil
}

// config is the AAC's configuration, announcing the Opus it carries.
func (in *audioIn) config() *engine.CodecConfig {
	if c := in.aac.Config(); c != in.base {
		cfg := *c
		cfg.Opus = in.opusCfg
		in.base, in.cfg = c, &cfg
	}
	return in.cfg
}

// packet takes one RTP packet of Opus that arrived since after the
// session started and returns the AAC packets it completes. bad is a
// packet that does not decode (20 ms lost); err is the encoder failing,
// which ends the sound.
func (in *audioIn) packet(pkt *rtp.Packet, since time.Duration) (out []*engine.Packet, bad, err error) {
	pts := in.clock.PTS(pkt.Timestamp, since)
	if len(pkt.Payload) == 0 {
		return nil, nil, nil
	}
	in.pcm = in.pcm[:0]
	bad = in.dec.Decode(pkt.Payload, func(samples []float32, channels int) {
		if in.rs == nil || in.rsIn != channels {
			in.rs, in.rsIn = audio.NewResampler(encode.OpusRate, channels, encode.OpusRate, in.ch), channels
		}
		in.pcm = in.rs.Convert(in.pcm, samples)
	})
	if bad != nil {
		return nil, bad, nil
	}
	if len(in.opus) == maxOpusWaiting {
		in.opus = in.opus[:copy(in.opus, in.opus[1:])]
	}
	in.opus = append(in.opus, engine.OpusFrame{Offset: rtpin.Ticks(pts, encode.OpusRate), Payload: bytes.Clone(pkt.Payload)})
	out, err = in.aac.Samples(in.pcm, pts)
	if err != nil {
		return nil, nil, fmt.Errorf("whip: the sound to AAC: %w", err)
	}
	for _, p := range out {
		p.Config = in.config()
		p.Opus = make([]engine.OpusFrame, len(in.opus))
		for i, f := range in.opus {
			p.Opus[i] = engine.OpusFrame{Offset: f.Offset - p.PTS, Payload: f.Payload}
		}
		in.opus = in.opus[:0]
	}
	return out, nil, nil
}

func (in *audioIn) close() {
	in.dec.Close()
	in.aac.Close()
}
