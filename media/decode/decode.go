// Package decode turns a stream's coded packets back into pictures and
// sound with FFmpeg's libavcodec, bound with cgo: H.264 and H.265 video
// scaled to a small RGBA picture (the studio's preview and the API's
// preview.jpg), and AAC, Opus and G.711 audio as float samples (the level
// meter). It decodes what it is given and keeps no goroutine of its own:
// callers decide when and on which worker it runs. It must not import the
// GUI, a protocol or an output.
package decode

/*
#cgo pkg-config: libavcodec libavutil libswscale
#include <stdlib.h>
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>

enum { AVERROR_EAGAIN_VALUE = AVERROR(EAGAIN), AVERROR_EOF_VALUE = AVERROR_EOF };

// open makes a decoder context for codec id with extradata (copied, with
// the padding libavcodec reads past the end), one thread, and for audio
// the sample rate and channel count that G.711 needs; fast trades
// invisible quality for speed.
static AVCodecContext *open_decoder(enum AVCodecID id, const uint8_t *extra, int extra_len,
		int rate, int channels, int fast, int *err) {
	av_log_set_level(AV_LOG_QUIET);
	const AVCodec *codec = avcodec_find_decoder(id);
	if (!codec) { *err = AVERROR_DECODER_NOT_FOUND; return NULL; }
	AVCodecContext *ctx = avcodec_alloc_context3(codec);
	if (!ctx) { *err = AVERROR(ENOMEM); return NULL; }
	if (extra_len > 0) {
		ctx->extradata = av_mallocz(extra_len + AV_INPUT_BUFFER_PADDING_SIZE);
		if (!ctx->extradata) { avcodec_free_context(&ctx); *err = AVERROR(ENOMEM); return NULL; }
		memcpy(ctx->extradata, extra, extra_len);
		ctx->extradata_size = extra_len;
	}
	ctx->thread_count = 1;
	if (fast) {
		// a preview shown at most 640 px wide: the deblocking filter's
		// work (a third of H.264 decoding) would not show
		ctx->skip_loop_filter = AVDISCARD_ALL;
		ctx->flags2 |= AV_CODEC_FLAG2_FAST;
	}
	if (rate > 0) ctx->sample_rate = rate;
	if (channels > 0) av_channel_layout_default(&ctx->ch_layout, channels);
	*err = avcodec_open2(ctx, codec, NULL);
	if (*err < 0) { avcodec_free_context(&ctx); return NULL; }
	return ctx;
}

static void close_decoder(AVCodecContext *ctx) { avcodec_free_context(&ctx); }

// send hands one packet to the decoder; pkt's data is the caller's padded
// buffer.
static int send(AVCodecContext *ctx, AVPacket *pkt, uint8_t *data, int len) {
	pkt->data = data;
	pkt->size = len;
	int r = avcodec_send_packet(ctx, pkt);
	pkt->data = NULL;
	pkt->size = 0;
	return r;
}

static int frame_channels(const AVFrame *f) { return f->ch_layout.nb_channels; }
static uint8_t *frame_plane(const AVFrame *f, int i) { return f->extended_data[i]; }

// scale converts f into dst (RGBA, w x h, stride dst_stride) with a cached
// scaler context.
static int scale(struct SwsContext **sws, const AVFrame *f, uint8_t *dst, int w, int h, int dst_stride) {
	*sws = sws_getCachedContext(*sws, f->width, f->height, f->format, w, h, AV_PIX_FMT_RGBA,
		SWS_FAST_BILINEAR, NULL, NULL, NULL);
	if (!*sws) return AVERROR(EINVAL);
	uint8_t *planes[4] = {dst, NULL, NULL, NULL};
	int strides[4] = {dst_stride, 0, 0, 0};
	return sws_scale(*sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, planes, strides);
}

static void free_scaler(struct SwsContext *sws) { sws_freeContext(sws); }
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"

	"chalkcast/engine"
)

// ErrUnsupported is returned for a codec this package cannot decode.
var ErrUnsupported = errors.New("decode: codec not supported")

// averror turns a libavcodec error code into an error naming what failed.
func averror(what string, code C.int) error {
	buf := make([]C.char, 128)
	C.av_strerror(code, &buf[0], C.size_t(len(buf)))
	return fmt.Errorf("decode: %s: %s", what, C.GoString(&buf[0]))
}

var codecIDs = map[engine.Codec]C.enum_AVCodecID{
	engine.CodecH264: C.AV_CODEC_ID_H264,
	engine.CodecH265: C.AV_CODEC_ID_HEVC,
	engine.CodecAAC:  C.AV_CODEC_ID_AAC,
	engine.CodecOpus: C.AV_CODEC_ID_OPUS,
	engine.CodecPCMA: C.AV_CODEC_ID_PCM_ALAW,
	engine.CodecPCMU: C.AV_CODEC_ID_PCM_MULAW,
}

// decoder is what video and audio decoders share: the codec context, one
// packet, one frame and a padded input buffer owned by C.
type decoder struct {
	ctx   *C.AVCodecContext
	pkt   *C.AVPacket
	frame *C.AVFrame // the newest decoded frame
	spare *C.AVFrame // where the next one is received
	in    *C.uint8_t
	inCap int
	sws   *C.struct_SwsContext
	cfg   *engine.CodecConfig
}

func (d *decoder) open(cfg *engine.CodecConfig) error {
	id, ok := codecIDs[cfg.Codec]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnsupported, cfg.Codec)
	}
	var extra *C.uint8_t
	if len(cfg.Record) > 0 {
		extra = (*C.uint8_t)(unsafe.Pointer(&cfg.Record[0]))
	}
	rate, channels := 0, 0
	if !cfg.Codec.IsVideo() {
		rate, channels = cfg.SampleRate, cfg.Channels
		if channels <= 0 {
			channels = 1
		}
		if rate <= 0 {
			rate = 8000
		}
	}
	var code C.int
	fast := C.int(0)
	if cfg.Codec.IsVideo() {
		fast = 1
	}
	d.ctx = C.open_decoder(id, extra, C.int(len(cfg.Record)), C.int(rate), C.int(channels), fast, &code)
	if d.ctx == nil {
		return averror("open "+cfg.Codec.String()+" decoder", code)
	}
	d.pkt = C.av_packet_alloc()
	d.frame = C.av_frame_alloc()
	d.spare = C.av_frame_alloc()
	if d.pkt == nil || d.frame == nil || d.spare == nil {
		d.close()
		return errors.New("decode: out of memory")
	}
	d.cfg = cfg
	return nil
}

// send copies payload into the padded buffer and hands it to the decoder.
func (d *decoder) send(payload []byte) error {
	if len(payload) == 0 {
		return nil
	}
	if need := len(payload) + C.AV_INPUT_BUFFER_PADDING_SIZE; need > d.inCap {
		C.av_free(unsafe.Pointer(d.in))
		d.inCap = max(need, 2*d.inCap)
		d.in = (*C.uint8_t)(C.av_malloc(C.size_t(d.inCap)))
		if d.in == nil {
			d.inCap = 0
			return errors.New("decode: out of memory")
		}
	}
	buf := unsafe.Slice((*byte)(unsafe.Pointer(d.in)), d.inCap)
	n := copy(buf, payload)
	clear(buf[n : n+C.AV_INPUT_BUFFER_PADDING_SIZE])
	if r := C.send(d.ctx, d.pkt, d.in, C.int(n)); r < 0 && r != C.AVERROR_EAGAIN_VALUE {
		return averror("decode "+d.cfg.Codec.String(), r)
	}
	return nil
}

// receive fetches the next decoded frame into d.frame; false when the
// decoder needs more input, and d.frame keeps the previous one.
func (d *decoder) receive() (bool, error) {
	r := C.avcodec_receive_frame(d.ctx, d.spare)
	switch {
	case r == 0:
		d.frame, d.spare = d.spare, d.frame
		return true, nil
	case r == C.AVERROR_EAGAIN_VALUE || r == C.AVERROR_EOF_VALUE:
		return false, nil
	default:
		return false, averror("decode "+d.cfg.Codec.String(), r)
	}
}

func (d *decoder) close() {
	if d.ctx != nil {
		C.close_decoder(d.ctx)
		d.ctx = nil
	}
	if d.pkt != nil {
		C.av_packet_free(&d.pkt)
	}
	if d.frame != nil {
		C.av_frame_free(&d.frame)
	}
	if d.spare != nil {
		C.av_frame_free(&d.spare)
	}
	C.av_free(unsafe.Pointer(d.in))
	d.in, d.inCap = nil, 0
	if d.sws != nil {
		C.free_scaler(d.sws)
		d.sws = nil
	}
}

// picture scales the newest decoded frame to fit within maxWidth (keeping
// its display aspect) into an RGBA picture, reusing dst when its size is
// right.
func (d *decoder) picture(dst *image.RGBA, maxWidth int) (*image.RGBA, error) {
	f := d.frame
	fw, fh := int(f.width), int(f.height)
	if fw <= 0 || fh <= 0 {
		return nil, errors.New("decode: empty picture")
	}
	dispW := float64(fw)
	if n, m := int(f.sample_aspect_ratio.num), int(f.sample_aspect_ratio.den); n > 0 && m > 0 {
		dispW = dispW * float64(n) / float64(m)
	}
	w := min(int(dispW+0.5), maxWidth)
	h := int(float64(w)*float64(fh)/dispW + 0.5)
	w, h = max(w&^1, 2), max(h&^1, 2)
	if dst == nil || dst.Rect.Dx() != w || dst.Rect.Dy() != h {
		dst = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	if r := C.scale(&d.sws, f, (*C.uint8_t)(unsafe.Pointer(&dst.Pix[0])), C.int(w), C.int(h), C.int(dst.Stride)); r < 0 {
		return nil, averror("scale picture", r)
	}
	return dst, nil
}

// samples appends the newest decoded audio frame to buf as interleaved
// float samples in [-1, 1] and returns it with the channel count.
func (d *decoder) samples(buf []float32) ([]float32, int, error) {
	f := d.frame
	n, ch := int(f.nb_samples), int(C.frame_channels(f))
	if n <= 0 || ch <= 0 {
		return buf, max(ch, 1), nil
	}
	planar := C.av_sample_fmt_is_planar(int32(f.format)) != 0
	plane := func(i int) unsafe.Pointer { return unsafe.Pointer(C.frame_plane(f, C.int(i))) }
	at := func(c, i int) int { // index of sample i of channel c in its plane
		if planar {
			return i
		}
		return i*ch + c
	}
	count := n
	if !planar {
		count = n * ch
	}
	for i := range n {
		for c := range ch {
			p := plane(0)
			if planar {
				p = plane(c)
			}
			var v float32
			switch C.enum_AVSampleFormat(f.format) {
			case C.AV_SAMPLE_FMT_FLT, C.AV_SAMPLE_FMT_FLTP:
				v = unsafe.Slice((*float32)(p), count)[at(c, i)]
			case C.AV_SAMPLE_FMT_S16, C.AV_SAMPLE_FMT_S16P:
				v = float32(unsafe.Slice((*int16)(p), count)[at(c, i)]) / (1 << 15)
			case C.AV_SAMPLE_FMT_S32, C.AV_SAMPLE_FMT_S32P:
				v = float32(float64(unsafe.Slice((*int32)(p), count)[at(c, i)]) / (1 << 31))
			case C.AV_SAMPLE_FMT_DBL, C.AV_SAMPLE_FMT_DBLP:
				v = float32(unsafe.Slice((*float64)(p), count)[at(c, i)])
			default:
				return buf, ch, fmt.Errorf("decode: %s: unexpected sample format %d", d.cfg.Codec, f.format)
			}
			buf = append(buf, v)
		}
	}
	return buf, ch, nil
}
