package decode

import (
	"fmt"

	"chalkcast/engine"
)

// Audio decodes one stream's AAC, Opus or G.711 packets into float
// samples. It is used by one goroutine at a time.
type Audio struct {
	d   decoder
	buf []float32
}

// NewAudio opens a decoder for cfg.
func NewAudio(cfg *engine.CodecConfig) (*Audio, error) {
	if cfg == nil || cfg.Codec.IsVideo() {
		return nil, fmt.Errorf("%w: not an audio configuration", ErrUnsupported)
	}
	a := &Audio{}
	if err := a.d.open(cfg); err != nil {
		return nil, err
	}
	return a, nil
}

// Config is the configuration the decoder was opened with.
func (a *Audio) Config() *engine.CodecConfig { return a.d.cfg }

// Decode decodes one packet and calls f with each frame that came out, as
// interleaved samples in [-1, 1]; samples is reused after f returns.
func (a *Audio) Decode(payload []byte, f func(samples []float32, channels int)) error {
	if err := a.d.send(payload); err != nil {
		return err
	}
	for {
		ok, err := a.d.receive()
		if err != nil || !ok {
			return err
		}
		var ch int
		a.buf, ch, err = a.d.samples(a.buf[:0])
		if err != nil {
			return err
		}
		f(a.buf, ch)
	}
}

// Close frees the decoder.
func (a *Audio) Close() { a.d.close() }
