package encode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/openh264"
	"github.com/pion/mediadevices/pkg/prop"

	"chalkcast/engine"
	engcodec "chalkcast/engine/codec"
)

// H264 encodes I420 frames with OpenH264 (bundled with mediadevices):
// Constrained Baseline, which every phone decodes, one slice per frame, a
// keyframe every KeyInterval, no frame skipping (the pipeline drops frames
// itself, visibly, when the machine is too slow). Its packets have
// parameter-set ids normalised to 0, so the stream's configuration stays
// the same across keyframes. An H264 is used by one goroutine at a time.
type H264 struct {
	enc    codec.ReadCloser
	frame  *frameReader
	sps    []byte
	pps    []byte
	config *engine.CodecConfig
}

// frameReader hands the encoder the frame it is asked to encode.
type frameReader struct{ img *image.YCbCr }

func (f *frameReader) Read() (image.Image, func(), error) {
	if f.img == nil {
		return nil, func() {}, errors.New("no frame")
	}
	img := f.img
	f.img = nil
	return img, func() {}, nil
}

// NewH264 starts an encoder for frames of s.Width×s.Height.
func NewH264(s VideoSettings) (*H264, error) {
	p, err := openh264.NewParams()
	if err != nil {
		return nil, fmt.Errorf("h264: encoder parameters: %w", err)
	}
	p.BitRate = s.Bitrate
	p.IntraPeriod = uint(max(1, int(s.KeyInterval.Seconds()*float64(s.FPS)+0.5)))
	p.EnableFrameSkip = false
	p.MultipleThreadIdc = 1 // one thread: CPU is bounded by the engine's pool
	p.SliceMode = openh264.SMSingleSlice
	p.SliceNum = 1
	if s.Screen {
		p.UsageType = openh264.ScreenContentRealTime
	}
	f := &frameReader{}
	enc, err := p.BuildVideoEncoder(f, prop.Media{Video: prop.Video{Width: s.Width, Height: s.Height, FrameRate: float32(s.FPS)}})
	if err != nil {
		return nil, fmt.Errorf("h264: start the encoder (%dx%d): %w", s.Width, s.Height, err)
	}
	return &H264{enc: enc, frame: f}, nil
}

// Encode encodes one frame. It returns the access unit as 4-byte
// length-prefixed NAL units without parameter sets, whether it is a
// keyframe, and the configuration it belongs to. An empty payload means
// the encoder produced nothing for this frame.
func (h *H264) Encode(img *image.YCbCr) (payload []byte, key bool, cfg *engine.CodecConfig, err error) {
	h.frame.img = img
	au, release, err := h.enc.Read()
	if err != nil {
		return nil, false, nil, fmt.Errorf("h264: encode: %w", err)
	}
	defer release()
	newParams := false
	for _, nal := range splitAnnexB(au) {
		if len(nal) == 0 {
			continue
		}
		typ := nal[0] & 0x1f
		switch typ {
		case nalSPS, nalPPS, nalSlice, nalSliceIDR:
			if nal, err = zeroParamSetIDs(nal); err != nil {
				return nil, false, nil, err
			}
		case 9: // access unit delimiter: containers do not carry it
			continue
		}
		switch typ {
		case nalSPS:
			newParams = newParams || !bytes.Equal(nal, h.sps)
			h.sps = append(h.sps[:0], nal...)
			continue
		case nalPPS:
			newParams = newParams || !bytes.Equal(nal, h.pps)
			h.pps = append(h.pps[:0], nal...)
			continue
		case nalSliceIDR:
			key = true
		}
		payload = binary.BigEndian.AppendUint32(payload, uint32(len(nal)))
		payload = append(payload, nal...)
	}
	if newParams || h.config == nil {
		if h.sps == nil || h.pps == nil {
			return nil, false, nil, errors.New("h264: the encoder gave no parameter sets")
		}
		rec, err := engcodec.BuildAVCRecord([][]byte{h.sps}, [][]byte{h.pps})
		if err != nil {
			return nil, false, nil, err
		}
		if h.config, err = engcodec.H264Config(rec); err != nil {
			return nil, false, nil, err
		}
	}
	return payload, key, h.config, nil
}

// ForceKeyframe makes the next frame Encode encodes a keyframe.
func (h *H264) ForceKeyframe() error {
	kc, ok := h.enc.Controller().(codec.KeyFrameController)
	if !ok {
		return errors.New("h264: the encoder cannot make keyframes on request")
	}
	return kc.ForceKeyFrame()
}

// Close frees the encoder.
func (h *H264) Close() error { return h.enc.Close() }

// splitAnnexB splits a byte stream at 3- and 4-byte start codes.
func splitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				out = append(out, bytes.TrimRight(b[start:i], "\x00"))
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 {
		out = append(out, b[start:])
	}
	return out
}
