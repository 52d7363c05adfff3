package rtpin

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"

	"chalkcast/engine"
	"chalkcast/engine/codec"
)

// Video turns H.264 or H.265 access units into packets: it keeps the
// parameter sets (from the SDP, then from the stream, which wins when the
// sender changes them), makes the decoder configuration record, drops what
// comes before the first random access point, and works out each frame's
// decoding time (cameras with B-frames send frames out of presentation
// order).
type Video struct {
	codec  engine.Codec
	params [3][]byte // H.264: SPS, PPS; H.265: VPS, SPS, PPS
	cfg    *engine.CodecConfig
	synced bool // a random access point was seen since the start or the last error
	h264   h264.DTSExtractor
	h265   h265.DTSExtractor
}

func NewVideo(c engine.Codec, params ...[]byte) *Video {
	v := &Video{codec: c}
	for _, p := range params {
		if len(p) > 0 {
			v.param(p)
		}
	}
	v.rebuild()
	v.resetDTS()
	return v
}

// Codec is the track's codec.
func (v *Video) Codec() engine.Codec { return v.codec }

// Config is the configuration of the parameter sets so far; nil until
// they are complete.
func (v *Video) Config() *engine.CodecConfig { return v.cfg }

func (v *Video) resetDTS() {
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

func (v *Video) nalKind(n []byte) int {
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
func (v *Video) param(n []byte) bool {
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
func (v *Video) rebuild() {
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

func (v *Video) paramSets() [][]byte {
	n := 2
	if v.codec == engine.CodecH265 {
		n = 3
	}
	return v.params[:n]
}

func (v *Video) randomAccess(au [][]byte) bool {
	if v.codec == engine.CodecH264 {
		return h264.IsRandomAccess(au)
	}
	return h265.IsRandomAccess(au)
}

// Access makes a packet of one access unit whose presentation time is pts
// (90 kHz units since the session started). It returns nil, nil for an
// access unit that is skipped for now, and an error when the sender sent
// something that cannot be decoded (the track then waits for the next
// keyframe).
func (v *Video) Access(au [][]byte, pts int64) (*engine.Packet, error) {
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
		return nil, fmt.Errorf("%s frame: %w", v.codec.String(), err)
	}
	v.synced = true
	payload := make([]byte, 0, size)
	for _, n := range frame {
		payload = binary.BigEndian.AppendUint32(payload, uint32(len(n)))
		payload = append(payload, n...)
	}
	return &engine.Packet{
		Track: engine.TrackVideo, Codec: v.codec,
		PTS: Ticks(pts, VideoClock), DTS: Ticks(dts, VideoClock),
		Keyframe: key, Payload: payload, Config: v.cfg,
	}, nil
}
