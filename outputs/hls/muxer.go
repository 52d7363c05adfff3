package hls

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"chalkcast/engine"
	"chalkcast/engine/codec"
)

// muxer is the HLS muxer of one publishing generation of a stream.
type muxer struct {
	ready chan struct{} // closed once the first gohlslib muxer or an error is set
	mu    sync.Mutex
	gm    *gohlslib.Muxer
	err   error
	since time.Time // when gm started: its playlists reach back to then
}

// set publishes the current gohlslib muxer (or the error that prevented
// one); requests use the newest.
func (m *muxer) set(gm *gohlslib.Muxer, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	first := m.gm == nil && m.err == nil
	if gm != m.gm {
		m.since = time.Now()
	}
	m.gm, m.err = gm, err
	if first {
		close(m.ready)
	}
}

// age is how long the current gohlslib muxer has run.
func (m *muxer) age() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gm == nil {
		return 0
	}
	return time.Since(m.since)
}

func (m *muxer) wait(ctx context.Context) (*gohlslib.Muxer, error) {
	select {
	case <-m.ready:
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.gm, m.err
	case <-ctx.Done():
		return nil, errors.New("no segment yet (waiting for a keyframe)")
	}
}

// ensure returns the stream's running muxer, starting one if the stream
// is live and has none.
func (o *Output) ensure(s *engine.Stream) (*muxer, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if m, ok := o.muxers[s.Name()]; ok {
		return m, nil
	}
	rd, err := s.NewReader(nil)
	if err != nil {
		return nil, err
	}
	if o.ctx.Err() != nil {
		rd.Close()
		return nil, errors.New("hls: shutting down")
	}
	m := &muxer{ready: make(chan struct{})}
	o.muxers[s.Name()] = m
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer rd.Close()
		err := o.run(s, rd, m)
		o.mu.Lock()
		delete(o.muxers, s.Name())
		o.mu.Unlock()
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, context.Canceled) {
			o.log.Warn("muxer stopped", "stream", s.Name(), "err", err)
		}
	}()
	return m, nil
}

// run feeds one gohlslib muxer from rd until the stream ends. New video
// parameters of the same codec (a replaced source, another picture size)
// continue the muxer; a change of codec or of the audio track starts a
// new one, since HLS tracks are fixed.
func (o *Output) run(s *engine.Stream, rd *engine.Reader, m *muxer) error {
	var (
		gm         *gohlslib.Muxer
		vtrack     *gohlslib.Track
		atrack     *gohlslib.Track
		vcfg, acfg *engine.CodecConfig
		params     [][]byte // parameter sets put before every keyframe
		batch      []*engine.Packet
	)
	closeMuxer := func() {
		if gm != nil {
			gm.Close()
			gm = nil
		}
	}
	defer closeMuxer()
	fail := func(err error) error {
		if gm == nil {
			m.set(nil, err)
		}
		return err
	}
	for {
		var err error
		batch, err = rd.Next(o.ctx, batch[:0])
		if err != nil {
			if gm == nil {
				return fail(fmt.Errorf("stream ended before a keyframe: %w", err))
			}
			return err
		}
		for _, p := range batch {
			if p.Track == engine.TrackVideo && !p.Config.Equal(vcfg) {
				_, audio := s.Configs()
				var err error
				if gm != nil && p.Config.Codec == vcfg.Codec && audio.Equal(acfg) {
					// Another picture size or encoder (a replaced source):
					// the parameter sets before the next keyframe make the
					// muxer start a segment with a new init file, and
					// players go on with the same playlist.
					if _, _, params, err = tracks(p.Config, audio); err != nil {
						return err
					}
					o.log.Info("video parameters changed: the HLS muxer goes on", "stream", s.Name())
				} else {
					if gm != nil {
						o.log.Info("codecs changed: new HLS muxer", "stream", s.Name())
						closeMuxer()
					}
					if vtrack, atrack, params, err = tracks(p.Config, audio); err != nil {
						return fail(err)
					}
					if gm, err = o.start(s, vtrack, atrack); err != nil {
						return fail(err)
					}
					m.set(gm, nil)
					acfg = audio
				}
				vcfg = p.Config
			}
			if gm == nil {
				continue
			}
			if err := write(gm, vtrack, atrack, acfg, params, p); err != nil {
				o.log.Debug("write", "stream", s.Name(), "err", err)
			}
		}
	}
}

// start starts a gohlslib muxer of a stream's tracks (atrack may be nil).
func (o *Output) start(s *engine.Stream, vtrack, atrack *gohlslib.Track) (*gohlslib.Muxer, error) {
	tr := []*gohlslib.Track{vtrack}
	if atrack != nil {
		tr = append(tr, atrack)
	}
	gm := &gohlslib.Muxer{
		Tracks: tr, Variant: o.variant, SegmentCount: o.cfg.SegmentCount,
		SegmentMinDuration: o.cfg.SegmentMinDuration, PartMinDuration: o.cfg.PartMinDuration,
		Directory:     o.cfg.Dir,
		OnEncodeError: func(err error) { o.log.Debug("encode", "stream", s.Name(), "err", err) },
	}
	if err := gm.Start(); err != nil {
		return nil, fmt.Errorf("hls: start muxer: %w", err)
	}
	return gm, nil
}

// tracks describes the HLS tracks of a stream.
func tracks(video, audio *engine.CodecConfig) (vt, at *gohlslib.Track, params [][]byte, err error) {
	switch video.Codec {
	case engine.CodecH264:
		rec, err := codec.ParseAVCRecord(video.Record)
		if err != nil {
			return nil, nil, nil, err
		}
		if len(rec.PPS) == 0 {
			return nil, nil, nil, errors.New("hls: H.264 configuration has no PPS")
		}
		vt = &gohlslib.Track{Codec: &codecs.H264{SPS: rec.SPS[0], PPS: rec.PPS[0]}, ClockRate: 90000}
		params = append(append(params, rec.SPS...), rec.PPS...)
	case engine.CodecH265:
		vps, sps, pps, err := codec.HEVCParams(video.Record)
		if err != nil {
			return nil, nil, nil, err
		}
		if len(vps) == 0 || len(pps) == 0 {
			return nil, nil, nil, errors.New("hls: H.265 configuration lacks a VPS or PPS")
		}
		vt = &gohlslib.Track{Codec: &codecs.H265{VPS: vps[0], SPS: sps[0], PPS: pps[0]}, ClockRate: 90000}
		params = append(append(append(params, vps...), sps...), pps...)
	default:
		return nil, nil, nil, fmt.Errorf("hls: video codec %s is not supported", video.Codec)
	}
	if audio != nil && audio.Codec == engine.CodecAAC {
		var asc mpeg4audio.AudioSpecificConfig
		if err := asc.Unmarshal(audio.Record); err == nil {
			at = &gohlslib.Track{Codec: &codecs.MPEG4Audio{Config: asc}, ClockRate: asc.SampleRate}
		}
	}
	return vt, at, params, nil
}

// write hands one packet to the muxer.
func write(gm *gohlslib.Muxer, vt, at *gohlslib.Track, acfg *engine.CodecConfig, params [][]byte, p *engine.Packet) error {
	switch {
	case p.Track == engine.TrackVideo:
		au, err := codec.NALUnits(p, params)
		if err != nil {
			return err
		}
		pts := int64(p.PTS) * 9 / 100000 // 90 kHz
		if p.Codec == engine.CodecH265 {
			return gm.WriteH265(vt, p.Published, pts, au)
		}
		return gm.WriteH264(vt, p.Published, pts, au)
	case at != nil && p.Codec == engine.CodecAAC && p.Config.Equal(acfg):
		pts := int64(p.PTS) / 1000 * int64(at.ClockRate) / 1000000
		return gm.WriteMPEG4Audio(at, p.Published, pts, [][]byte{p.Payload})
	}
	return nil
}
