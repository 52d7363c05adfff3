package monitor

import (
	"context"
	"time"

	"chalkcast/engine"
	"chalkcast/media/decode"
)

// preview decodes one stream's video while somebody looks.
type preview struct {
	w      *watch
	cancel context.CancelFunc
	done   chan struct{}

	// the decoder's state, used by one lane worker at a time
	dec     *decode.Video
	needKey bool
	lastPic time.Time
	failed  bool // the latest error was logged
}

// pendingVideo bounds the frames waiting for the decoder: about three
// seconds of 30 fps video, then the preview skips to the next keyframe.
const pendingVideo = 90

// startPreview decodes rd's video until ctx ends or stop; nil once the
// monitor has stopped.
func startPreview(ctx context.Context, w *watch, rd *engine.Reader) *preview {
	ctx, cancel := context.WithCancel(ctx)
	p := &preview{w: w, cancel: cancel, done: make(chan struct{}), needKey: true}
	l := newLane(w.m.hub.Pool(), pendingVideo, p.decode)
	if !w.m.spawn(func(done func()) {
		defer close(p.done)
		feed(ctx, rd, l, func(pk *engine.Packet) bool { return pk.Track == engine.TrackVideo })
		l.finish(func() {
			if p.dec != nil {
				p.dec.Close()
			}
			done()
		})
	}) {
		cancel()
		return nil
	}
	return p
}

func (p *preview) stop() { p.cancel() }

// ended reports whether the preview stopped (its stream's ring ended).
func (p *preview) ended() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// decode runs on the pool: it decodes a batch of frames and publishes a
// picture of the newest at most every PictureEvery.
func (p *preview) decode(batch []*engine.Packet, dropped bool) {
	p.needKey = p.needKey || dropped
	for _, pk := range batch {
		if pk.Config == nil {
			continue
		}
		if p.dec == nil || (p.dec.Config() != pk.Config && !p.dec.Config().Equal(pk.Config)) {
			if !p.open(pk.Config) {
				continue
			}
		}
		if p.needKey && !pk.Keyframe {
			continue
		}
		p.needKey = false
		got, err := p.dec.Decode(pk.Payload)
		if err != nil {
			p.fail("a video frame did not decode", err)
		}
		if !got {
			continue
		}
		p.failed = false
		if now := time.Now(); now.Sub(p.lastPic) >= PictureEvery {
			width := p.w.width()
			img, err := p.dec.Picture(nil, width)
			if err != nil || img == nil {
				p.fail("a video frame did not scale", err)
				continue
			}
			p.lastPic = now
			p.w.setPicture(&Picture{Image: img, Published: pk.Published, For: width})
		}
	}
}

// open replaces the decoder for a new configuration.
func (p *preview) open(cfg *engine.CodecConfig) bool {
	if p.dec != nil {
		p.dec.Close()
		p.dec = nil
	}
	p.needKey = true
	dec, err := decode.NewVideo(cfg)
	if err != nil {
		p.fail("the preview cannot decode this video", err)
		return false
	}
	p.dec = dec
	return true
}

// fail logs the first of a run of errors.
func (p *preview) fail(what string, err error) {
	if !p.failed {
		p.w.m.log.Warn(what, "stream", p.w.name, "err", err)
	}
	p.failed = true
}
