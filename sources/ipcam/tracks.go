package ipcam

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtplpcm"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtpmpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/g711"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"

	"chalkcast/engine"
	"chalkcast/engine/codec"
	"chalkcast/media/encode"
)

// videoClock is the RTP clock rate of H.264 and H.265.
const videoClock = 90000

// ticks converts v units of a clock of rate Hz to a duration without
// overflowing for any stream length.
func ticks(v int64, rate int) time.Duration {
	r := int64(rate)
	return time.Duration(v/r)*time.Second + time.Duration(v%r)*time.Second/time.Duration(r)
}

// What a camera's session description turns into: the track of each
// chosen format (with the configuration its SDP carries) and the RTP
// decoder of its packets. The SDP is the camera's, so anything may be in
// it: these fail with a reason, never panic, and allocate in proportion
// to what the SDP holds (FuzzSDP).

// videoOf makes the track and the decoder of an H.264 or H.265 format.
func videoOf(f format.Format) (*videoTrack, func(*rtpPacket) ([][]byte, error), error) {
	switch f := f.(type) {
	case *format.H264:
		d, err := f.CreateDecoder()
		if err != nil {
			return nil, nil, fmt.Errorf("H.264: %w", err)
		}
		return newVideoTrack(engine.CodecH264, f.SPS, f.PPS), d.Decode, nil
	case *format.H265:
		d, err := f.CreateDecoder()
		if err != nil {
			return nil, nil, fmt.Errorf("H.265: %w", err)
		}
		return newVideoTrack(engine.CodecH265, f.VPS, f.SPS, f.PPS), d.Decode, nil
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

// videoTrack turns a camera's H.264 or H.265 access units into packets: it
// keeps the parameter sets (from the SDP, then from the stream, which wins
// when the camera changes them), makes the decoder configuration record,
// drops what comes before the first random access point, and works out
// each frame's decoding time (cameras with B-frames send frames out of
// presentation order).
type videoTrack struct {
	codec  engine.Codec
	params [3][]byte // H.264: SPS, PPS; H.265: VPS, SPS, PPS
	cfg    *engine.CodecConfig
	synced bool // a random access point was seen since the start or the last error
	h264   h264.DTSExtractor
	h265   h265.DTSExtractor
}

func newVideoTrack(c engine.Codec, params ...[]byte) *videoTrack {
	v := &videoTrack{codec: c}
	for _, p := range params {
		if len(p) > 0 {
			v.param(p)
		}
	}
	v.rebuild()
	v.resetDTS()
	return v
}

func (v *videoTrack) resetDTS() {
	v.h264 = h264.DTSExtractor{}
	v.h264.Initialize()
	v.h265 = h265.DTSExtractor{}
	v.h265.Initialize()
	v.synced = false
}

// nalKind says what a NAL unit is to the track: a parameter set (its slot),
// an access unit delimiter (dropped: containers do not carry them), or
// anything else (kept).
const (
	nalKeep = -1
	nalDrop = -2
)

func (v *videoTrack) nalKind(n []byte) int {
	if v.codec == engine.CodecH264 {
		if h264.NALUType(n[0]&0x1f) == h264.NALUTypeAccessUnitDelimiter {
			return nalDrop
		}
	} else if len(n) < 2 || h265.NALUType((n[0]>>1)&0x3f) == h265.NALUType_AUD_NUT {
		return nalDrop
	}
	return codec.ParamSlot(v.codec, n) // nalKeep (-1) for anything but a parameter set
}

// param stores a parameter set and reports whether it changed.
func (v *videoTrack) param(n []byte) bool {
	i := v.nalKind(n)
	if i < 0 || bytes.Equal(v.params[i], n) {
		return false
	}
	v.params[i] = append([]byte(nil), n...)
	return true
}

// rebuild makes the configuration from the current parameter sets; an
// incomplete or unparsable set leaves the track without one (its frames
// are skipped until good parameter sets arrive).
func (v *videoTrack) rebuild() {
	var (
		cfg *engine.CodecConfig
		rec []byte
		err error
	)
	if v.codec == engine.CodecH264 {
		if rec, err = codec.BuildAVCRecord(v.params[:1], v.params[1:2]); err == nil {
			cfg, err = codec.H264Config(rec)
		}
	} else {
		if rec, err = codec.BuildHEVCRecord(v.params[:1], v.params[1:2], v.params[2:3]); err == nil {
			cfg, err = codec.H265Config(rec)
		}
	}
	if err != nil {
		v.cfg = nil
		return
	}
	v.cfg = cfg
}

func (v *videoTrack) paramSets() [][]byte {
	n := 2
	if v.codec == engine.CodecH265 {
		n = 3
	}
	return v.params[:n]
}

func (v *videoTrack) randomAccess(au [][]byte) bool {
	if v.codec == engine.CodecH264 {
		return h264.IsRandomAccess(au)
	}
	return h265.IsRandomAccess(au)
}

// access makes a packet of one access unit whose presentation time is pts
// (90 kHz units since the session started). It returns nil, nil for an
// access unit that is skipped for now, and an error when the camera sent
// something that cannot be decoded (the track then waits for the next
// keyframe).
func (v *videoTrack) access(au [][]byte, pts int64) (*engine.Packet, error) {
	changed := false
	frame := make([][]byte, 0, len(au))
	size := 0
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch k := v.nalKind(n); {
		case k >= 0:
			changed = v.param(n) || changed
		case k == nalKeep:
			frame = append(frame, n)
			size += 4 + len(n)
		}
	}
	if changed {
		v.rebuild()
		v.resetDTS() // a new sequence starts at its keyframe
	}
	if len(frame) == 0 {
		return nil, nil // parameter sets or delimiters only
	}
	key := v.randomAccess(frame)
	if v.cfg == nil || (!v.synced && !key) {
		return nil, nil
	}
	// The DTS extractors read the slice headers against the parameter
	// sets, which they take from the access unit itself.
	withParams := frame
	if key {
		withParams = append(append([][]byte{}, v.paramSets()...), frame...)
	}
	var (
		dts int64
		err error
	)
	if v.codec == engine.CodecH264 {
		dts, err = v.h264.Extract(withParams, pts)
	} else {
		dts, err = v.h265.Extract(withParams, pts)
	}
	if err != nil {
		v.resetDTS()
		return nil, fmt.Errorf("%s frame: %w", codecName(v.codec), err)
	}
	v.synced = true
	payload := make([]byte, 0, size)
	for _, n := range frame {
		payload = binary.BigEndian.AppendUint32(payload, uint32(len(n)))
		payload = append(payload, n...)
	}
	return &engine.Packet{
		Track: engine.TrackVideo, Codec: v.codec,
		PTS: ticks(pts, videoClock), DTS: ticks(dts, videoClock),
		Keyframe: key, Payload: payload, Config: v.cfg,
	}, nil
}

// g711Track decodes G.711 (what most classroom cameras send, and what no
// browser plays) and encodes it to AAC-LC at the camera's own rate.
type g711Track struct {
	mulaw    bool
	rate     int
	channels int
	enc      *encode.AAC
	pcm      []int16
	// next is the presentation time (in samples since the session
	// started) of pcm[0]; valid while pcm is not empty or started is set.
	next    int64
	started bool
}

func newG711Track(mulaw bool, rate, channels int) (*g711Track, error) {
	g := &g711Track{mulaw: mulaw, rate: rate, channels: channels}
	var err error
	g.enc, err = g.newEncoder()
	return g, err
}

func (g *g711Track) newEncoder() (*encode.AAC, error) {
	return encode.NewAAC(g.rate, g.channels, min(64000, 4*g.rate*g.channels))
}

// maxGap is how far a packet's timestamp may be from where the samples
// so far end before the track starts again from the packet (lost packets,
// a camera that restarted its clock).
const maxGap = 100 * time.Millisecond

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
	end := g.next + int64(len(g.pcm)/g.channels)
	gap := pts - end
	skip := 0
	switch {
	case !g.started:
		g.next, g.started = pts, true
	case ticks(abs(gap), g.rate) > maxGap:
		// many packets lost, or the camera restarted its clock: start
		// again from this packet, with an encoder whose delay line does
		// not hold the old audio
		enc, err := g.newEncoder()
		if err != nil {
			return nil, err
		}
		g.enc.Close()
		g.enc = enc
		g.pcm = g.pcm[:0]
		g.next = pts
	case gap > 0:
		// a lost packet or two: silence in its place keeps the timing
		g.pcm = append(g.pcm, make([]int16, int(gap)*g.channels)...)
	case gap < 0:
		skip = int(-gap) * g.channels * 2 // samples already had
	}
	for i := skip; i+1 < len(lpcm); i += 2 {
		g.pcm = append(g.pcm, int16(binary.BigEndian.Uint16(lpcm[i:])))
	}
	var out []*engine.Packet
	frame := encode.AACFrameSamples * g.channels
	for len(g.pcm) >= frame {
		au, err := g.enc.Encode(g.pcm[:frame])
		if err != nil {
			return out, err
		}
		g.pcm = append(g.pcm[:0], g.pcm[frame:]...)
		at := g.next - encode.AACDelay
		g.next += encode.AACFrameSamples
		if at < 0 || len(au) == 0 {
			continue // encoder priming
		}
		t := ticks(at, g.rate)
		out = append(out, &engine.Packet{
			Track: engine.TrackAudio, Codec: engine.CodecAAC, PTS: t, DTS: t,
			Keyframe: true, Payload: au, Config: g.enc.Config(),
		})
	}
	return out, nil
}

func (g *g711Track) close() { g.enc.Close() }

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

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
		t := ticks(pts+int64(i*a.frame), a.rate)
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
