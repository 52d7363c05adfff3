// Package flv converts between engine packets and FLV tags: the tag bodies
// RTMP carries, and whole FLV files and streams as HTTP-FLV and recordings
// use them. It supports H.264 and AAC as in the original specification,
// H.265 as Enhanced RTMP ('hvc1') and the legacy codec id 12, and G.711.
// It is shared by sources (parsing) and outputs (muxing) and holds no state.
// It must not import a source, an output or the GUI.
package flv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"chalkcast/engine"
)

// Tag types.
const (
	TagAudio  = 8
	TagVideo  = 9
	TagScript = 18
)

// Legacy video codec ids and Enhanced RTMP packet types.
const (
	codecAVC  = 7
	codecHEVC = 12 // widely used legacy extension for H.265

	exSequenceStart = 0
	exCodedFrames   = 1
	exSequenceEnd   = 2
	exCodedFramesX  = 3
)

// Sound formats.
const (
	soundPCMA = 7
	soundPCMU = 8
	soundAAC  = 10
)

var fourccHVC1 = [4]byte{'h', 'v', 'c', '1'}
var fourccAVC1 = [4]byte{'a', 'v', 'c', '1'}

// ErrShort is returned for truncated tag bodies.
var ErrShort = errors.New("flv: tag body is truncated")

// VideoBody is a parsed video tag body.
type VideoBody struct {
	Codec     engine.Codec
	Keyframe  bool
	SeqHeader bool // Data is a decoder configuration record
	SeqEnd    bool
	CTS       time.Duration // composition time offset (PTS - DTS)
	Data      []byte        // length-prefixed NAL units, or the record
}

// ParseVideo parses a video tag body. Data points into b.
func ParseVideo(b []byte) (VideoBody, error) {
	var v VideoBody
	if len(b) < 1 {
		return v, ErrShort
	}
	if b[0]&0x80 != 0 { // Enhanced RTMP
		if len(b) < 5 {
			return v, ErrShort
		}
		v.Keyframe = (b[0]>>4)&7 == 1
		var fourcc [4]byte
		copy(fourcc[:], b[1:5])
		switch fourcc {
		case fourccHVC1:
			v.Codec = engine.CodecH265
		case fourccAVC1:
			v.Codec = engine.CodecH264
		default:
			return v, fmt.Errorf("flv: unsupported video codec %q", fourcc[:])
		}
		rest := b[5:]
		switch b[0] & 0x0f {
		case exSequenceStart:
			v.SeqHeader = true
		case exCodedFrames:
			if len(rest) < 3 {
				return v, ErrShort
			}
			v.CTS = cts24(rest)
			rest = rest[3:]
		case exCodedFramesX:
		case exSequenceEnd:
			v.SeqEnd = true
		default:
			return v, fmt.Errorf("flv: unsupported enhanced video packet type %d", b[0]&0x0f)
		}
		v.Data = rest
		return v, nil
	}
	v.Keyframe = b[0]>>4 == 1
	switch b[0] & 0x0f {
	case codecAVC:
		v.Codec = engine.CodecH264
	case codecHEVC:
		v.Codec = engine.CodecH265
	default:
		return v, fmt.Errorf("flv: unsupported video codec id %d", b[0]&0x0f)
	}
	if len(b) < 5 {
		return v, ErrShort
	}
	switch b[1] {
	case 0:
		v.SeqHeader = true
	case 1:
		v.CTS = cts24(b[2:])
	case 2:
		v.SeqEnd = true
	default:
		return v, fmt.Errorf("flv: bad AVC packet type %d", b[1])
	}
	v.Data = b[5:]
	return v, nil
}

func cts24(b []byte) time.Duration {
	v := int32(uint32(b[0])<<16|uint32(b[1])<<8|uint32(b[2])) << 8 >> 8 // sign-extend
	return time.Duration(v) * time.Millisecond
}

// AudioBody is a parsed audio tag body.
type AudioBody struct {
	Codec     engine.Codec
	SeqHeader bool // Data is an AudioSpecificConfig
	Data      []byte
	// Rate and Channels from the tag header (meaningful for G.711).
	Channels int
}

// ParseAudio parses an audio tag body. Data points into b.
func ParseAudio(b []byte) (AudioBody, error) {
	var a AudioBody
	if len(b) < 1 {
		return a, ErrShort
	}
	a.Channels = 1 + int(b[0]&1)
	switch b[0] >> 4 {
	case soundAAC:
		if len(b) < 2 {
			return a, ErrShort
		}
		a.Codec = engine.CodecAAC
		a.SeqHeader = b[1] == 0
		a.Data = b[2:]
	case soundPCMA:
		a.Codec, a.Data = engine.CodecPCMA, b[1:]
	case soundPCMU:
		a.Codec, a.Data = engine.CodecPCMU, b[1:]
	default:
		return a, fmt.Errorf("flv: unsupported sound format %d", b[0]>>4)
	}
	return a, nil
}

// ms converts a media time to FLV's 32-bit milliseconds.
func ms(d time.Duration) uint32 { return uint32(d / time.Millisecond) }

// Header is the FLV file header followed by the first PreviousTagSize.
func Header(video, audio bool) []byte {
	flags := byte(0)
	if audio {
		flags |= 4
	}
	if video {
		flags |= 1
	}
	return []byte{'F', 'L', 'V', 1, flags, 0, 0, 0, 9, 0, 0, 0, 0}
}

// appendTagHeader writes the 11-byte header of a tag with an n-byte body.
func appendTagHeader(dst []byte, typ byte, n int, ts uint32) []byte {
	return append(dst, typ, byte(n>>16), byte(n>>8), byte(n),
		byte(ts>>16), byte(ts>>8), byte(ts), byte(ts>>24), 0, 0, 0)
}

// appendTag writes a whole tag (header, body, PreviousTagSize).
func appendTag(dst []byte, typ byte, ts uint32, body []byte) []byte {
	dst = append(appendTagHeader(dst, typ, len(body), ts), body...)
	return binary.BigEndian.AppendUint32(dst, uint32(len(body)+11))
}

// VideoHeaderBody is the body of the sequence-header tag for cfg.
func VideoHeaderBody(cfg *engine.CodecConfig) []byte {
	if cfg.Codec == engine.CodecH265 {
		b := []byte{0x80 | 1<<4 | exSequenceStart}
		b = append(b, fourccHVC1[:]...)
		return append(b, cfg.Record...)
	}
	return append([]byte{1<<4 | codecAVC, 0, 0, 0, 0}, cfg.Record...)
}

// AudioHeaderBody is the body of the AAC sequence-header tag for cfg, or
// nil for codecs without one.
func AudioHeaderBody(cfg *engine.CodecConfig) []byte {
	if cfg.Codec != engine.CodecAAC {
		return nil
	}
	return append([]byte{0xaf, 0}, cfg.Record...)
}

// SequenceTag is a whole tag carrying the configuration cfg at media time
// ts, or nil when the codec needs none.
func SequenceTag(cfg *engine.CodecConfig, ts time.Duration) []byte {
	if cfg == nil {
		return nil
	}
	if cfg.Codec.IsVideo() {
		return appendTag(nil, TagVideo, ms(ts), VideoHeaderBody(cfg))
	}
	if b := AudioHeaderBody(cfg); b != nil {
		return appendTag(nil, TagAudio, ms(ts), b)
	}
	return nil
}

// HeaderBody is the body of the sequence-header tag for cfg, or nil for
// codecs without one.
func HeaderBody(cfg *engine.CodecConfig) []byte {
	if cfg.Codec.IsVideo() {
		return VideoHeaderBody(cfg)
	}
	return AudioHeaderBody(cfg)
}

// BodyPrefix returns the bytes that precede p's payload in its tag body;
// the body is BodyPrefix(p) followed by p.Payload.
func BodyPrefix(p *engine.Packet) []byte { return AppendBodyPrefix(nil, p) }

// AppendBodyPrefix appends BodyPrefix(p) to b; b is unchanged for a codec
// FLV cannot carry.
func AppendBodyPrefix(b []byte, p *engine.Packet) []byte {
	switch p.Codec {
	case engine.CodecH264, engine.CodecH265:
		ft := byte(2)
		if p.Keyframe {
			ft = 1
		}
		c := ms(p.PTS - p.DTS)
		if p.Codec == engine.CodecH265 {
			return append(b, 0x80|ft<<4|exCodedFrames, 'h', 'v', 'c', '1', byte(c>>16), byte(c>>8), byte(c))
		}
		return append(b, ft<<4|codecAVC, 1, byte(c>>16), byte(c>>8), byte(c))
	case engine.CodecAAC:
		return append(b, 0xaf, 1)
	case engine.CodecPCMA, engine.CodecPCMU:
		f := byte(soundPCMA)
		if p.Codec == engine.CodecPCMU {
			f = soundPCMU
		}
		ch := byte(0)
		if p.Config != nil && p.Config.Channels == 2 {
			ch = 1
		}
		return append(b, f<<4|1<<1|ch)
	}
	return b
}

// PacketTag is the whole FLV tag (with its PreviousTagSize) for p, or nil
// for a codec FLV cannot carry.
func PacketTag(p *engine.Packet) []byte {
	frame := PacketFrame(p)
	if frame == nil {
		return nil
	}
	n := len(frame) - 4
	out := make([]byte, 0, len(frame)+len(p.Payload))
	return append(append(append(out, frame[:n]...), p.Payload...), frame[n:]...)
}

// PacketFrame is what surrounds p's payload in its FLV tag: the tag header
// and body prefix, then the 4-byte PreviousTagSize. Writers send
// frame[:len-4], p.Payload, frame[len-4:] so that the payload is never
// copied. It is nil for a codec FLV cannot carry.
func PacketFrame(p *engine.Packet) []byte {
	prefix := BodyPrefix(p)
	if prefix == nil {
		return nil
	}
	typ := byte(TagAudio)
	if p.Track == engine.TrackVideo {
		typ = TagVideo
	}
	n := len(prefix) + len(p.Payload)
	b := appendTagHeader(make([]byte, 0, 15+len(prefix)), typ, n, ms(p.DTS))
	b = append(b, prefix...)
	return binary.BigEndian.AppendUint32(b, uint32(n+11))
}

// Carries reports whether FLV can carry packets of codec c.
func Carries(c engine.Codec) bool {
	switch c {
	case engine.CodecH264, engine.CodecH265, engine.CodecAAC, engine.CodecPCMA, engine.CodecPCMU:
		return true
	}
	return false
}

// Sent remembers which codec configurations one viewer has been sent, so
// that a sequence header goes out before the first frame of each track and
// again whenever the configuration changes (a publisher that came back
// with other settings).
type Sent struct {
	video, audio *engine.CodecConfig
}

// NeedsHeader reports whether p must be preceded by its configuration's
// sequence header, and records that it will have been sent.
func (s *Sent) NeedsHeader(p *engine.Packet) bool {
	last := &s.audio
	if p.Track == engine.TrackVideo {
		last = &s.video
	}
	changed := *last != p.Config && !p.Config.Equal(*last)
	*last = p.Config
	return changed
}
