package ipcam

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtplpcm"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtpmpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/g711"

	"chalkcast/engine"
	"chalkcast/engine/codec"
	"chalkcast/media/rtpin"
)

// What a camera's session description turns into: the track of each
// chosen format (with the configuration its SDP carries) and the RTP
// decoder of its packets. The SDP is the camera's, so anything may be in
// it: these fail with a reason, never panic, and allocate in proportion
// to what the SDP holds (FuzzSDP).

// videoOf makes the track and the decoder of an H.264 or H.265 format.
func videoOf(f format.Format) (*rtpin.Video, func(*rtpPacket) ([][]byte, error), error) {
	switch f := f.(type) {
	case *format.H264:
		d, err := f.CreateDecoder()
		if err != nil {
			return nil, nil, fmt.Errorf("H.264: %w", err)
		}
		return rtpin.NewVideo(engine.CodecH264, f.SPS, f.PPS), d.Decode, nil
	case *format.H265:
		d, err := f.CreateDecoder()
		if err != nil {
			return nil, nil, fmt.Errorf("H.265: %w", err)
		}
		return rtpin.NewVideo(engine.CodecH265, f.VPS, f.SPS, f.PPS), d.Decode, nil
	}
	return nil, nil, fmt.Errorf("%s is not H.264 or H.265 video", f.Codec())
}

// aacOf makes the pass-through track and the decoder of an AAC format.
func aacOf(f *format.MPEG4Audio) (*aacTrack, *rtpmpeg4audio.Decoder, error) {
	if f.Config == nil {
		return nil, nil, errors.New("AAC track without its configuration")
	}
	asc, err := f.Config.Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("AAC configuration: %w", err)
	}
	cfg, err := codec.AACConfig(asc)
	if err != nil {
		return nil, nil, err
	}
	d, err := f.CreateDecoder()
	if err != nil {
		return nil, nil, fmt.Errorf("AAC: %w", err)
	}
	a := &aacTrack{cfg: cfg, rate: f.ClockRate(), frame: 1024}
	if f.Config.FrameLengthFlag {
		a.frame = 960
	}
	return a, d, nil
}

// g711Of makes the track (an AAC encoder at the camera's rate, which the
// caller closes) and the decoder of a G.711 format.
func g711Of(f *format.G711) (*g711Track, *rtplpcm.Decoder, error) {
	g, err := newG711Track(f.MULaw, f.SampleRate, f.ChannelCount)
	if err != nil {
		return nil, nil, fmt.Errorf("G.711 audio to AAC: %w", err)
	}
	d, err := f.CreateDecoder()
	if err != nil {
		g.close()
		return nil, nil, fmt.Errorf("G.711: %w", err)
	}
	return g, d, nil
}

// g711Track decodes G.711 (what most classroom cameras send, and what no
// browser plays) and encodes it to AAC-LC at the camera's own rate.
type g711Track struct {
	mulaw bool
	aac   *rtpin.AAC
	pcm   []int16
}

func newG711Track(mulaw bool, rate, channels int) (*g711Track, error) {
	aac, err := rtpin.NewAAC(rate, channels)
	if err != nil {
		return nil, err
	}
	return &g711Track{mulaw: mulaw, aac: aac}, nil
}

// samples decodes one RTP payload of G.711 whose first sample plays at pts
// (in samples) and returns the AAC packets it completes.
func (g *g711Track) samples(payload []byte, pts int64) ([]*engine.Packet, error) {
	var lpcm []byte
	if g.mulaw {
		var m g711.Mulaw
		m.Unmarshal(payload)
		lpcm = m
	} else {
		var a g711.Alaw
		a.Unmarshal(payload)
		lpcm = a
	}
	g.pcm = g.pcm[:0]
	for i := 0; i+1 < len(lpcm); i += 2 {
		g.pcm = append(g.pcm, int16(binary.BigEndian.Uint16(lpcm[i:])))
	}
	return g.aac.Samples(g.pcm, pts)
}

func (g *g711Track) close() { g.aac.Close() }

// aacTrack passes AAC through: one packet per access unit, a frame
// (1024 or 960 samples) apart within an RTP packet.
type aacTrack struct {
	cfg   *engine.CodecConfig
	rate  int // RTP clock rate
	frame int // samples per access unit: 1024, or 960
}

func (a *aacTrack) units(aus [][]byte, pts int64) []*engine.Packet {
	out := make([]*engine.Packet, 0, len(aus))
	for i, au := range aus {
		if len(au) == 0 {
			continue
		}
		t := rtpin.Ticks(pts+int64(i*a.frame), a.rate)
		out = append(out, &engine.Packet{
			Track: engine.TrackAudio, Codec: engine.CodecAAC, PTS: t, DTS: t,
			Keyframe: true, Payload: au, Config: a.cfg,
		})
	}
	return out
}

func codecName(c engine.Codec) string {
	switch c {
	case engine.CodecH264:
		return "H.264"
	case engine.CodecH265:
		return "H.265"
	case engine.CodecAAC:
		return "AAC"
	}
	return c.String()
}

func codecOfFormat(f format.Format) engine.Codec {
	switch f.(type) {
	case *format.H264:
		return engine.CodecH264
	case *format.H265:
		return engine.CodecH265
	}
	return engine.CodecUnknown
}
