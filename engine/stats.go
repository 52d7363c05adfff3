package engine

import (
	"sort"
	"time"
)

// Sample is one second of a stream's statistics history.
type Sample struct {
	Time        time.Time `json:"t"`
	BitrateKbps float64   `json:"kbps"`
	Viewers     int       `json:"viewers"`
}

// VideoStats describes the video track.
type VideoStats struct {
	Codec            string  `json:"codec"`
	Width            int     `json:"width,omitempty"`
	Height           int     `json:"height,omitempty"`
	Profile          string  `json:"profile,omitempty"`
	FPS              float64 `json:"fps"`
	KeyframeInterval float64 `json:"keyframe_interval_s"`
	// BFrames: the publisher sends pictures out of presentation order
	// (B-frames, OBS's default), which WebRTC players cannot show: they
	// get HTTP-FLV instead.
	BFrames bool `json:"b_frames"`
}

// AudioStats describes the audio track.
type AudioStats struct {
	Codec      string `json:"codec"`
	SampleRate int    `json:"sample_rate,omitempty"`
	Channels   int    `json:"channels,omitempty"`
	// LevelDBFS is the peak of the last second of sound as sent (after
	// muting); PeakDBFS and LoudnessDBFS (RMS) are the meter's newest
	// window. All are null until the sound has been measured.
	LevelDBFS    *float64 `json:"level_dbfs"`
	PeakDBFS     *float64 `json:"peak_dbfs"`
	LoudnessDBFS *float64 `json:"loudness_dbfs"`
	// Muted: the teacher muted the sound; students get silence.
	Muted bool `json:"muted"`
	// Silent: students hear nothing although nobody muted (no
	// microphone, or only silence for a while); SilentReason says why.
	Silent       bool   `json:"silent"`
	SilentReason string `json:"silent_reason,omitempty"`
}

// SourceReport is what trying a source found: an IP camera's "Test
// connection" before a stream is made with it.
type SourceReport struct {
	Video     *VideoStats `json:"video,omitempty"`
	Audio     *AudioStats `json:"audio,omitempty"`
	Transport string      `json:"transport,omitempty"`
	// Notes are remarks in plain words: audio that is converted, tracks
	// that are ignored.
	Notes []string `json:"notes,omitempty"`
}

// EncoderStats describes a source that encodes (camera, screen, test
// pattern): frames it had to drop and its capture-to-packet latency over
// the last second.
type EncoderStats struct {
	DroppedFrames int64   `json:"dropped_frames"`
	LatencyMS     float64 `json:"latency_ms"`
	LatencyMaxMS  float64 `json:"latency_max_ms"`
}

// ViewerCounts are the numbers a teacher sees.
type ViewerCounts struct {
	Total      int            `json:"total"`
	Peak       int            `json:"peak"`
	ByProtocol map[string]int `json:"by_protocol"`
}

// ViewerStats is one viewer as seen by the API and the GUI.
type ViewerStats struct {
	ID       uint64    `json:"id"`
	Protocol string    `json:"protocol"`
	Remote   string    `json:"remote"`
	Agent    string    `json:"agent,omitempty"`
	Since    time.Time `json:"since"`
	Bytes    uint64    `json:"bytes"`
	Skips    uint64    `json:"skips"`
}

// StreamStats is an immutable snapshot of a stream.
type StreamStats struct {
	Name    string `json:"name"`
	Title   string `json:"title,omitempty"`
	Source  Source `json:"source"`
	State   State  `json:"state"`
	Stopped bool   `json:"stopped,omitempty"`
	// Standby: an on-demand source waits for a viewer before connecting.
	Standby   bool       `json:"standby,omitempty"`
	LiveSince *time.Time `json:"live_since,omitempty"`
	// EndedAt is when it was last live, while it is not: since the server
	// started.
	EndedAt     *time.Time    `json:"ended_at,omitempty"`
	UptimeSec   float64       `json:"uptime_s"`
	LastError   string        `json:"last_error,omitempty"`
	Publisher   *SourceInfo   `json:"publisher,omitempty"` // who sends now
	BitrateKbps float64       `json:"bitrate_kbps"`
	BytesIn     uint64        `json:"bytes_in"`
	BytesOut    uint64        `json:"bytes_out"`
	Skips       uint64        `json:"skips"`
	Video       *VideoStats   `json:"video,omitempty"`
	Audio       *AudioStats   `json:"audio,omitempty"`
	Encoder     *EncoderStats `json:"encoder,omitempty"`
	Viewers     ViewerCounts  `json:"viewers"`
	ViewerList  []ViewerStats `json:"viewer_list,omitempty"`
	History     []Sample      `json:"history,omitempty"`
}

// StatsOptions selects the costly parts of a snapshot.
type StatsOptions struct {
	Viewers bool // include the per-viewer list
	History bool // include the per-second history
}

func (v *Viewer) stats() *ViewerStats {
	return &ViewerStats{
		ID: v.id, Protocol: v.info.Protocol, Remote: v.info.Remote, Agent: v.info.Agent,
		Since: v.since, Bytes: v.bytes.Load(), Skips: v.skips.Load(),
	}
}

// Stats returns a snapshot of the stream. It is cheap enough to call from
// the GUI several times a second.
func (s *Stream) Stats(opt StatsOptions) StreamStats {
	s.mu.Lock()
	st := StreamStats{
		Name:      s.name,
		Title:     s.cfg.Title,
		Source:    s.cfg.Source.Redacted(),
		Standby:   s.standby,
		State:     s.state,
		Stopped:   s.cfg.Stopped,
		LastError: s.lastErr,
		Viewers:   ViewerCounts{Total: len(s.viewers), Peak: s.peak, ByProtocol: map[string]int{}},
	}
	if !s.liveSince.IsZero() {
		t := s.liveSince
		st.LiveSince = &t
		st.UptimeSec = time.Since(t).Seconds()
	}
	if s.liveSince.IsZero() && !s.endedAt.IsZero() {
		t := s.endedAt
		st.EndedAt = &t
	}
	if s.pub != nil {
		src := s.pub.src
		st.Publisher = &src
	}
	skips := s.c.skips.Load()
	for _, v := range s.viewers {
		st.Viewers.ByProtocol[v.info.Protocol]++
		skips += v.skips.Load()
		if opt.Viewers {
			st.ViewerList = append(st.ViewerList, *v.stats())
		}
	}
	if opt.History {
		st.History = make([]Sample, 0, len(s.history))
		st.History = append(st.History, s.history[s.histPos:]...)
		st.History = append(st.History, s.history[:s.histPos]...)
	}
	s.mu.Unlock()

	sort.Slice(st.ViewerList, func(i, j int) bool { return st.ViewerList[i].ID < st.ViewerList[j].ID })
	st.Skips = skips
	st.BytesIn = s.c.bytesIn.Load()
	st.BytesOut = s.c.bytesOut.Load()
	if st.State != StateIdle {
		st.BitrateKbps = float64(s.c.bitrate.Load()) / 1000
		if vc := s.c.videoCfg.Load(); vc != nil {
			st.Video = &VideoStats{
				Codec: vc.Codec.String(), Width: vc.Width, Height: vc.Height, Profile: vc.Profile,
				FPS:              float64(s.c.fps.Load()) / 1000,
				KeyframeInterval: time.Duration(s.c.keyInterval.Load()).Seconds(),
				BFrames:          s.c.reordered.Load(),
			}
		}
		if s.c.encoding.Load() {
			st.Encoder = &EncoderStats{
				DroppedFrames: s.c.dropped.Load(),
				LatencyMS:     float64(s.c.latAvg.Load()) / 1e6,
				LatencyMaxMS:  float64(s.c.latPeak.Load()) / 1e6,
			}
		}
		st.Audio = s.audioStats(s.c.audioCfg.Load())
	}
	return st
}

// sample closes one statistics window: input bitrate and frame rate over
// the time since the previous sample, appended to the history.
func (s *Stream) sample(now time.Time) {
	c := &s.c
	in, frames := c.bytesIn.Load(), c.videoFrames.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.prevAt.IsZero() {
		if dt := now.Sub(s.prevAt).Seconds(); dt > 0 {
			c.bitrate.Store(uint64(float64(in-s.prevIn) * 8 / dt))
			c.fps.Store(uint64(float64(frames-s.prevFrames) * 1000 / dt))
		}
	}
	s.prevIn, s.prevFrames, s.prevAt = in, frames, now
	if n := c.latN.Swap(0); n > 0 {
		c.latAvg.Store(c.latSum.Swap(0) / n)
		c.latPeak.Store(c.latMax.Swap(0))
	} else {
		c.latAvg.Store(0)
		c.latPeak.Store(0)
	}

	smp := Sample{Time: now, Viewers: len(s.viewers)}
	if s.state != StateIdle {
		smp.BitrateKbps = float64(c.bitrate.Load()) / 1000
	}
	if len(s.history) < cap(s.history) {
		s.history = append(s.history, smp)
	} else {
		s.history[s.histPos] = smp
		s.histPos = (s.histPos + 1) % len(s.history)
	}
}
