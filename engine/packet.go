package engine

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"
)

// Track says which elementary stream of a Stream a packet belongs to.
type Track uint8

// Tracks of a stream. A stream has at most one of each.
const (
	TrackVideo Track = iota
	TrackAudio
)

func (t Track) String() string {
	if t == TrackVideo {
		return "video"
	}
	return "audio"
}

// Codec identifies the coding of a packet's payload.
type Codec uint8

// Codecs the packet type can carry. Payload conventions:
//   - H.264 and H.265: one access unit as length-prefixed NAL units (4-byte
//     big-endian lengths, the layout of FLV, MP4 and Matroska), without
//     parameter sets being required in-band.
//   - AAC: one raw access unit (no ADTS header).
//   - Opus: one Opus packet. PCMA/PCMU: G.711 samples.
const (
	CodecUnknown Codec = iota
	CodecH264
	CodecH265
	CodecAAC
	CodecOpus
	CodecPCMA
	CodecPCMU
)

var codecNames = [...]string{"unknown", "h264", "h265", "aac", "opus", "pcma", "pcmu"}

func (c Codec) String() string {
	if int(c) < len(codecNames) {
		return codecNames[c]
	}
	return "unknown"
}

// IsVideo reports whether c is a video codec.
func (c Codec) IsVideo() bool { return c == CodecH264 || c == CodecH265 }

// CodecConfig is the decoder configuration a packet belongs to. It is
// immutable once published: a source that sees new parameters makes a new
// CodecConfig, and outputs compare pointers (then Equal) to notice changes.
type CodecConfig struct {
	Codec Codec
	// Record is the codec's configuration record: AVCDecoderConfigurationRecord
	// for H.264, HEVCDecoderConfigurationRecord for H.265,
	// AudioSpecificConfig for AAC, OpusHead for Opus, empty for G.711.
	Record []byte

	// Video: coded picture size and profile, when known.
	Width, Height int
	Profile       string

	// Audio: sample rate in Hz and channel count.
	SampleRate int
	Channels   int

	// Opus, on an AAC configuration, is the configuration of the Opus its
	// packets also carry (Packet.Opus): a source that encodes from the
	// samples itself gives outputs that send Opus (WebRTC) the sound
	// without a transcode of the AAC. Nil when they carry none.
	Opus *CodecConfig
}

// Equal reports whether two configurations describe the same decoder setup.
func (c *CodecConfig) Equal(o *CodecConfig) bool {
	if c == o {
		return true
	}
	if c == nil || o == nil {
		return false
	}
	return c.Codec == o.Codec && bytes.Equal(c.Record, o.Record) &&
		c.SampleRate == o.SampleRate && c.Channels == o.Channels && c.Opus.Equal(o.Opus)
}

// Packet is one access unit of one track. Sources create packets and never
// modify them after Write; outputs share them read-only. Payload must not
// alias a buffer the source reuses.
type Packet struct {
	Track    Track
	Codec    Codec
	PTS      time.Duration // presentation time since the stream started
	DTS      time.Duration // decoding time; equal to PTS without B-frames
	Keyframe bool          // video: random access point; audio: always true
	Payload  []byte
	Config   *CodecConfig
	// Opus is the same sound as Opus (see CodecConfig.Opus): the frames
	// that start within this packet, in order.
	Opus []OpusFrame

	// Published is when the engine accepted the packet (for latency figures).
	Published time.Time

	wire  atomic.Pointer[wireEntry]
	wirem sync.Mutex
}

// OpusFrame is one Opus packet that an AAC packet carries.
type OpusFrame struct {
	// Offset is when the frame starts, relative to the AAC packet's PTS:
	// whatever moves the packet's timestamps moves the frame's too.
	Offset  time.Duration
	Payload []byte
}

type wireEntry struct {
	key  any
	b    []byte
	next *wireEntry
}

// Wire returns the bytes that an output's format makes of p, building them
// with build only once per key however many viewers ask: the first caller
// builds, everybody else shares the same slice. key must be comparable and
// should be an output's own unexported type (for example struct{}); the
// returned slice is shared and must not be modified.
func (p *Packet) Wire(key any, build func(*Packet) []byte) []byte {
	if b, ok := p.lookupWire(key); ok {
		return b
	}
	p.wirem.Lock()
	defer p.wirem.Unlock()
	if b, ok := p.lookupWire(key); ok {
		return b
	}
	b := build(p)
	p.wire.Store(&wireEntry{key: key, b: b, next: p.wire.Load()})
	return b
}

func (p *Packet) lookupWire(key any) ([]byte, bool) {
	for e := p.wire.Load(); e != nil; e = e.next {
		if e.key == key {
			return e.b, true
		}
	}
	return nil, false
}
