// Package audio is the media stage's sound without a decoder: the silent
// frames that replace a muted stream's sound in its own codec, and the
// level meter that measures decoded samples. It must not import the GUI,
// a protocol or an output.
package audio

import (
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"chalkcast/engine"
)

// Silence returns a silent access unit of cfg's codec lasting as long as
// payload does (engine.Silencer). The result is shared: callers must not
// modify it.
func Silence(cfg *engine.CodecConfig, payload []byte) ([]byte, error) {
	switch cfg.Codec {
	case engine.CodecAAC:
		return aacSilence(cfg.Record)
	case engine.CodecOpus:
		return opusSilence(payload)
	case engine.CodecPCMA:
		return filled(len(payload), 0xd5), nil // A-law zero
	case engine.CodecPCMU:
		return filled(len(payload), 0xff), nil // µ-law zero
	}
	return nil, fmt.Errorf("audio: %s: %w", cfg.Codec, engine.ErrNoSilence)
}

func filled(n int, v byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = v
	}
	return b
}

// bits writes MSB-first bit fields.
type bits struct {
	b []byte
	n int // bits written
}

func (w *bits) put(v uint32, width int) {
	for i := width - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>uint(i)&1 != 0 {
			w.b[len(w.b)-1] |= 0x80 >> uint(w.n%8)
		}
		w.n++
	}
}

// AAC syntactic elements (ISO/IEC 14496-3, table 4.85).
const (
	idSCE = 0
	idCPE = 1
	idLFE = 3
	idEND = 7
)

// aacLayouts are the elements of a raw data block for each channel
// configuration (ISO/IEC 14496-3, table 1.19).
var aacLayouts = map[int][]int{
	1: {idSCE},
	2: {idCPE},
	3: {idSCE, idCPE},
	4: {idSCE, idCPE, idSCE},
	5: {idSCE, idCPE, idCPE},
	6: {idSCE, idCPE, idCPE, idLFE},
	8: {idSCE, idCPE, idCPE, idCPE, idLFE},
}

// aacSilence builds a raw data block in which every channel is a long
// window with no scale factor bands: the decoder outputs zeros.
func aacSilence(asc []byte) ([]byte, error) {
	var c mpeg4audio.AudioSpecificConfig
	if err := c.Unmarshal(asc); err != nil {
		return nil, fmt.Errorf("audio: AAC configuration: %w", err)
	}
	switch c.Type {
	case mpeg4audio.ObjectTypeAACLC, mpeg4audio.ObjectTypeSBR, mpeg4audio.ObjectTypePS:
	default:
		return nil, fmt.Errorf("audio: AAC object type %d: %w", c.Type, engine.ErrNoSilence)
	}
	layout, ok := aacLayouts[c.ChannelCount]
	if !ok {
		return nil, fmt.Errorf("audio: AAC with %d channels: %w", c.ChannelCount, engine.ErrNoSilence)
	}
	var w bits
	tags := map[int]uint32{}
	for _, id := range layout {
		w.put(uint32(id), 3)
		w.put(tags[id], 4) // element_instance_tag
		tags[id]++
		streams := 1
		if id == idCPE {
			w.put(0, 1) // common_window
			streams = 2
		}
		for range streams {
			w.put(0, 8) // global_gain
			w.put(0, 1) // ics_reserved_bit
			w.put(0, 2) // window_sequence: ONLY_LONG_SEQUENCE
			w.put(0, 1) // window_shape
			w.put(0, 6) // max_sfb: no bands, no section or scale factor data
			w.put(0, 1) // predictor_data_present
			w.put(0, 1) // pulse_data_present
			w.put(0, 1) // tns_data_present
			w.put(0, 1) // gain_control_data_present
		}
	}
	w.put(idEND, 3)
	return w.b, nil
}

// opusFrameSizes are the frame durations of the 32 Opus configurations
// (RFC 6716, section 3.1).
var opusFrameSizes = [32]time.Duration{
	10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond, // SILK NB
	10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond, // SILK MB
	10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond, // SILK WB
	10 * time.Millisecond, 20 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, // Hybrid
	2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, // CELT NB
	2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, // CELT WB
	2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, // CELT SWB
	2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, // CELT FB
}

// opusDuration is how long an Opus packet lasts.
func opusDuration(p []byte) (time.Duration, error) {
	if len(p) == 0 {
		return 0, fmt.Errorf("audio: empty Opus packet")
	}
	frames := 1
	switch p[0] & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 || p[1]&0x3f == 0 {
			return 0, fmt.Errorf("audio: Opus packet without its frame count")
		}
		frames = int(p[1] & 0x3f)
	}
	d := opusFrameSizes[p[0]>>3] * time.Duration(frames)
	if d > 120*time.Millisecond {
		return 0, fmt.Errorf("audio: Opus packet of %v", d)
	}
	return d, nil
}

// opusSilence builds a packet of CELT full-band frames whose first
// symbol is the silence flag, as long as p and with p's channel count.
func opusSilence(p []byte) ([]byte, error) {
	d, err := opusDuration(p)
	if err != nil {
		return nil, err
	}
	stereo := p[0] & 0x04
	for cfg := 31; cfg >= 28; cfg-- { // 20, 10, 5 and 2.5 ms frames
		size := opusFrameSizes[cfg]
		if d%size != 0 {
			continue
		}
		n := int(d / size)
		out := []byte{byte(cfg<<3) | stereo | 3, byte(n)} // code 3: n frames of equal size
		for range n {
			out = append(out, 0xff, 0xfe)
		}
		return out, nil
	}
	return nil, fmt.Errorf("audio: Opus packet of %v: %w", d, engine.ErrNoSilence)
}
