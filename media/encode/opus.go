package encode

/*
#cgo LDFLAGS: -l:libopus.a -lm
#include <opus/opus.h>

static int chalk_opus_setup(OpusEncoder *e, opus_int32 bitrate) {
	int err = opus_encoder_ctl(e, OPUS_SET_BITRATE(bitrate));
	if (err != OPUS_OK) return err;
	// a lesson is speech over whatever the room sounds like: the encoder
	// picks its mode per frame
	return opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_AUTO));
}
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"chalkcast/engine"
)

// OpusRate is the sample rate Opus encodes at here (and what WebRTC's
// Opus payload format clocks in).
const OpusRate = 48000

// OpusFrame is how long one encoded Opus packet lasts.
const OpusFrame = 20 * time.Millisecond

// OpusFrameSamples is how many samples per channel one OpusFrame holds.
const OpusFrameSamples = OpusRate * int(OpusFrame/time.Millisecond) / 1000

// Opus encodes 16-bit PCM at 48 kHz to Opus packets of 20 ms with libopus
// (linked statically). An Opus is used by one goroutine at a time.
type Opus struct {
	e        *C.OpusEncoder
	channels int
	config   *engine.CodecConfig
	out      [1500]byte
}

// NewOpus makes an encoder for 1 or 2 channels at bitrate bits/s.
func NewOpus(channels, bitrate int) (*Opus, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("opus: %d channels: only mono and stereo are supported", channels)
	}
	var code C.int
	e := C.opus_encoder_create(OpusRate, C.int(channels), C.OPUS_APPLICATION_AUDIO, &code)
	if e == nil || code != C.OPUS_OK {
		return nil, fmt.Errorf("opus: start the encoder (%d channels): %s", channels, C.GoString(C.opus_strerror(code)))
	}
	if code = C.chalk_opus_setup(e, C.opus_int32(bitrate)); code != C.OPUS_OK {
		C.opus_encoder_destroy(e)
		return nil, fmt.Errorf("opus: %d bit/s: %s", bitrate, C.GoString(C.opus_strerror(code)))
	}
	return &Opus{e: e, channels: channels, config: &engine.CodecConfig{
		Codec: engine.CodecOpus, Record: OpusHead(channels), SampleRate: OpusRate, Channels: channels,
	}}, nil
}

// OpusHead is the identification header (RFC 7845) of an Opus stream of
// channels at 48 kHz, the configuration record of engine.CodecOpus.
func OpusHead(channels int) []byte {
	h := make([]byte, 19)
	copy(h, "OpusHead")
	h[8] = 1 // version
	h[9] = byte(channels)
	binary.LittleEndian.PutUint16(h[10:], 312) // pre-skip: libopus's look-ahead at 48 kHz
	binary.LittleEndian.PutUint32(h[12:], OpusRate)
	return h
}

// Config is the stream configuration of the output.
func (o *Opus) Config() *engine.CodecConfig { return o.config }

// Encode encodes one frame: exactly OpusFrameSamples samples per channel,
// interleaved. It returns one Opus packet in a new slice.
func (o *Opus) Encode(pcm []int16) ([]byte, error) {
	if o.e == nil {
		return nil, errors.New("opus: encoder is closed")
	}
	if len(pcm) != OpusFrameSamples*o.channels {
		return nil, fmt.Errorf("opus: got %d samples, want %d", len(pcm), OpusFrameSamples*o.channels)
	}
	n := C.opus_encode(o.e, (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(OpusFrameSamples),
		(*C.uchar)(unsafe.Pointer(&o.out[0])), C.opus_int32(len(o.out)))
	if n < 0 {
		return nil, fmt.Errorf("opus: encode: %s", C.GoString(C.opus_strerror(C.int(n))))
	}
	return append([]byte(nil), o.out[:n]...), nil
}

// Close frees the encoder.
func (o *Opus) Close() {
	if o.e != nil {
		C.opus_encoder_destroy(o.e)
		o.e = nil
	}
}
