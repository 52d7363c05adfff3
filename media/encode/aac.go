package encode

/*
#cgo LDFLAGS: -l:libvo-aacenc.a
#include <stdlib.h>
#include <vo-aacenc/voAAC.h>
#include <vo-aacenc/cmnMemory.h>

// Each encoder has its own handle, memory operator and state: the library
// keeps nothing in globals, so any number of encoders run at once.
typedef struct {
	VO_AUDIO_CODECAPI api;
	VO_HANDLE handle;
	VO_MEM_OPERATOR mem;
	VO_CODEC_INIT_USERDATA user;
} chalk_aac;

static chalk_aac *chalk_aac_new(int rate, int channels, int bitrate, unsigned int *err) {
	chalk_aac *e = calloc(1, sizeof *e);
	if (e == NULL) {
		*err = VO_ERR_OUTOF_MEMORY;
		return NULL;
	}
	voGetAACEncAPI(&e->api);
	e->mem.Alloc = cmnMemAlloc;
	e->mem.Copy = cmnMemCopy;
	e->mem.Free = cmnMemFree;
	e->mem.Set = cmnMemSet;
	e->mem.Check = cmnMemCheck;
	e->user.memflag = VO_IMF_USERMEMOPERATOR;
	e->user.memData = &e->mem;
	*err = e->api.Init(&e->handle, VO_AUDIO_CodingAAC, &e->user);
	if (*err != VO_ERR_NONE) {
		free(e);
		return NULL;
	}
	AACENC_PARAM p = {0};
	p.sampleRate = rate;
	p.bitRate = bitrate;
	p.nChannels = channels;
	p.adtsUsed = 0;
	*err = e->api.SetParam(e->handle, VO_PID_AAC_ENCPARAM, &p);
	if (*err != VO_ERR_NONE) {
		e->api.Uninit(e->handle);
		free(e);
		return NULL;
	}
	return e;
}

static unsigned int chalk_aac_encode(chalk_aac *e, unsigned char *in, int n, unsigned char *out, int cap, int *outn) {
	VO_CODECBUFFER input = {0}, output = {0};
	VO_AUDIO_OUTPUTINFO info = {0};
	input.Buffer = in;
	input.Length = n;
	unsigned int err = e->api.SetInputData(e->handle, &input);
	if (err != VO_ERR_NONE) {
		return err;
	}
	output.Buffer = out;
	output.Length = cap;
	err = e->api.GetOutputData(e->handle, &output, &info);
	*outn = output.Length;
	return err;
}

static void chalk_aac_free(chalk_aac *e) {
	e->api.Uninit(e->handle);
	free(e);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"chalkcast/engine"
	"chalkcast/engine/codec"
)

// AACFrameSamples is how many samples per channel one AAC-LC frame holds.
const AACFrameSamples = 1024

// AAC encodes 16-bit PCM to AAC-LC with the VisualOn encoder (Debian's
// libvo-aacenc, linked statically). Unlike a wrapper that keeps one encoder
// per process, every AAC value has its own encoder state, so streams
// encode audio at the same time. An AAC is used by one goroutine at a time.
type AAC struct {
	c        *C.chalk_aac
	channels int
	config   *engine.CodecConfig
	out      []byte
}

// NewAAC makes an encoder for rate Hz (8000 to 48000), 1 or 2 channels and
// bitrate bits/s.
func NewAAC(rate, channels, bitrate int) (*AAC, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("aac: %d channels: only mono and stereo are supported", channels)
	}
	asc, err := (&mpeg4audio.AudioSpecificConfig{
		Type: mpeg4audio.ObjectTypeAACLC, SampleRate: rate, ChannelCount: channels,
	}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("aac: sample rate %d Hz: %w", rate, err)
	}
	cfg, err := codec.AACConfig(asc)
	if err != nil {
		return nil, err
	}
	var code C.uint
	c := C.chalk_aac_new(C.int(rate), C.int(channels), C.int(bitrate), &code)
	if c == nil {
		return nil, fmt.Errorf("aac: start the encoder (%d Hz, %d channels, %d bit/s): error 0x%x", rate, channels, bitrate, uint32(code))
	}
	return &AAC{c: c, channels: channels, config: cfg, out: make([]byte, 6144*channels/8+64)}, nil
}

// Config is the stream configuration (AudioSpecificConfig) of the output.
func (a *AAC) Config() *engine.CodecConfig { return a.config }

// Encode encodes one frame: exactly AACFrameSamples samples per channel,
// interleaved. It returns one raw AAC access unit in a new slice.
func (a *AAC) Encode(pcm []int16) ([]byte, error) {
	if a.c == nil {
		return nil, errors.New("aac: encoder is closed")
	}
	if len(pcm) != AACFrameSamples*a.channels {
		return nil, fmt.Errorf("aac: got %d samples, want %d", len(pcm), AACFrameSamples*a.channels)
	}
	var n C.int
	code := C.chalk_aac_encode(a.c, (*C.uchar)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)*2),
		(*C.uchar)(unsafe.Pointer(&a.out[0])), C.int(len(a.out)), &n)
	if code != C.VO_ERR_NONE {
		return nil, fmt.Errorf("aac: encode: error 0x%x", uint32(code))
	}
	return append([]byte(nil), a.out[:n]...), nil
}

// Close frees the encoder.
func (a *AAC) Close() {
	if a.c != nil {
		C.chalk_aac_free(a.c)
		a.c = nil
	}
}
