package decode

import (
	"fmt"
	"image"

	"chalkcast/engine"
)

// Video decodes one stream's H.264 or H.265 access units. It is used by
// one goroutine at a time.
type Video struct {
	d    decoder
	have bool
}

// NewVideo opens a decoder for cfg, whose Record (avcC or hvcC) describes
// the length-prefixed access units that follow.
func NewVideo(cfg *engine.CodecConfig) (*Video, error) {
	if cfg == nil || !cfg.Codec.IsVideo() {
		return nil, fmt.Errorf("%w: not a video configuration", ErrUnsupported)
	}
	if len(cfg.Record) == 0 {
		return nil, fmt.Errorf("decode: %s without its configuration record", cfg.Codec)
	}
	v := &Video{}
	if err := v.d.open(cfg); err != nil {
		return nil, err
	}
	return v, nil
}

// Config is the configuration the decoder was opened with.
func (v *Video) Config() *engine.CodecConfig { return v.d.cfg }

// Decode decodes one access unit and reports whether a new picture came
// out of it. A damaged access unit returns an error and leaves the
// decoder usable for the next one.
func (v *Video) Decode(au []byte) (bool, error) {
	if err := v.d.send(au); err != nil {
		return false, err
	}
	got := false
	for {
		ok, err := v.d.receive()
		if err != nil {
			return got, err
		}
		if !ok {
			break
		}
		got, v.have = true, true
	}
	return got, nil
}

// Picture returns the newest decoded picture scaled to at most maxWidth
// pixels wide in its display aspect, in dst when dst has the right size
// (dst may be nil). It returns nil before the first picture.
func (v *Video) Picture(dst *image.RGBA, maxWidth int) (*image.RGBA, error) {
	if !v.have {
		return nil, nil
	}
	return v.d.picture(dst, maxWidth)
}

// Close frees the decoder.
func (v *Video) Close() { v.d.close() }
