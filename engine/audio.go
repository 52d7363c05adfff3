package engine

import (
	"errors"
	"fmt"
)

// Silencer makes the payload of a silent audio access unit of cfg that
// lasts as long as payload does, for muting: a muted stream's audio
// packets are replaced by silence, so that players and recordings keep
// their audio track and its timing.
type Silencer func(cfg *CodecConfig, payload []byte) ([]byte, error)

// AudioLevel is how loud a stream's audio is as it is sent, measured from
// its own packets by whoever decodes them (the studio's meter), in dBFS:
// 0 is full scale, and silence is at most SilenceFloor.
type AudioLevel struct {
	Peak     float64 // highest sample of the newest meter window
	Loudness float64 // RMS of the newest meter window
	// SecondPeak is the highest sample of the last second.
	SecondPeak float64
}

// SilenceFloor is the level reported for digital silence.
const SilenceFloor = -100.0

// ErrNoSilence is returned by a Silencer for a codec it cannot make
// silence for; a muted stream then drops its audio packets instead.
var ErrNoSilence = errors.New("no silent frame for this codec")

// Muted reports whether the stream's audio is replaced by silence.
func (s *Stream) Muted() bool { return s.c.muted.Load() }

// silence replaces a muted stream's audio payload, reporting false when
// the packet must be dropped instead.
func (p *Publisher) silence(pkt *Packet) bool {
	c := &p.s.c
	cfg := pkt.Config
	if cfg == nil {
		cfg = c.audioCfg.Load()
	}
	mk := p.s.hub.cfg.Silence
	if mk == nil || cfg == nil {
		return false
	}
	b, err := mk(cfg, pkt.Payload)
	if err != nil {
		return false
	}
	pkt.Payload = b
	if len(pkt.Opus) > 0 {
		var frames []OpusFrame
		if cfg.Opus != nil {
			for _, f := range pkt.Opus {
				if b, err := mk(cfg.Opus, f.Payload); err == nil {
					frames = append(frames, OpusFrame{Offset: f.Offset, Payload: b})
				}
			}
		}
		pkt.Opus = frames // the sound is gone from the Opus too
	}
	return true
}

// SetMuted mutes a stream's audio (it stays in the stream as silence) or
// unmutes it. The choice persists.
func (h *Hub) SetMuted(name string, muted bool) error {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	s, err := h.persistOne(name, func(c *StreamConfig) { c.Muted = muted })
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.cfg.Muted = muted
	s.mu.Unlock()
	s.c.muted.Store(muted)
	kind := EventAudioUnmuted
	if muted {
		kind = EventAudioMuted
	}
	h.events.publish(Event{Kind: kind, Stream: name})
	return nil
}

// SetAudioLevel records the newest measurement of the stream's sound.
func (s *Stream) SetAudioLevel(l AudioLevel) { s.c.level.Store(&l) }

// AudioLevel is the newest measurement of the stream's sound, if any was
// made since it went live.
func (s *Stream) AudioLevel() (AudioLevel, bool) {
	if l := s.c.level.Load(); l != nil {
		return *l, true
	}
	return AudioLevel{}, false
}

// SetSilent says that students hear nothing and why, in plain words ("no
// microphone", "the sound has been silent for 10 s"); an empty reason says
// the sound is back. The first report of a silence is published as
// EventNoSound, with the reason as the event's error.
func (s *Stream) SetSilent(reason string) {
	if reason == "" {
		s.c.silent.Store(nil)
		return
	}
	if old := s.c.silent.Swap(&reason); old == nil {
		s.publish(Event{Kind: EventNoSound, Stream: s.name, Error: reason})
	}
}

// Silent returns why students hear nothing, or "" while they hear sound.
func (s *Stream) Silent() string {
	if r := s.c.silent.Load(); r != nil {
		return *r
	}
	return ""
}

// audioStats completes a snapshot's audio part.
func (s *Stream) audioStats(ac *CodecConfig) *AudioStats {
	reason := s.Silent()
	if ac == nil && reason == "" {
		return nil
	}
	a := &AudioStats{Muted: s.Muted(), Silent: reason != "", SilentReason: reason}
	if ac != nil {
		a.Codec, a.SampleRate, a.Channels = ac.Codec.String(), ac.SampleRate, ac.Channels
	}
	if l, ok := s.AudioLevel(); ok && ac != nil {
		a.LevelDBFS, a.PeakDBFS, a.LoudnessDBFS = &l.SecondPeak, &l.Peak, &l.Loudness
	}
	return a
}

// String describes a level for logs.
func (l AudioLevel) String() string {
	return fmt.Sprintf("peak %.1f dBFS, loudness %.1f dBFS", l.Peak, l.Loudness)
}
