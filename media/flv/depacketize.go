package flv

import (
	"fmt"
	"log/slog"
	"time"

	"chalkcast/engine"
	"chalkcast/engine/codec"
)

// Depacketizer turns FLV tag bodies, from an RTMP publisher or an FLV
// stream, into engine packets: it keeps the codec configurations from the
// sequence headers and drops frames that come before theirs. Bodies must
// not be reused by the caller: packets keep them.
type Depacketizer struct {
	// VideoConfig and AudioConfig are the current configurations.
	VideoConfig, AudioConfig *engine.CodecConfig
	// Dropped counts frames that came before their sequence header.
	Dropped int
	// Log, if set, is told once about sequence headers that were ignored.
	Log *slog.Logger

	ignoredAudio bool // an unusable audio configuration was logged
}

// Video takes one video tag body at timestamp ts (ms). It returns the
// packet to publish, or nil; changed reports a new configuration (in
// d.VideoConfig) from a sequence header or from the parameter sets of a
// keyframe.
func (d *Depacketizer) Video(ts uint32, b []byte) (p *engine.Packet, changed bool, err error) {
	v, err := ParseVideo(b)
	if err != nil {
		return nil, false, err
	}
	switch {
	case v.SeqHeader:
		cfg, err := videoConfig(v)
		if err != nil {
			return nil, false, fmt.Errorf("video sequence header: %w", err)
		}
		if cfg.Equal(d.VideoConfig) {
			return nil, false, nil
		}
		d.VideoConfig = cfg
		return nil, true, nil
	case v.SeqEnd || len(v.Data) == 0:
		return nil, false, nil
	case d.VideoConfig == nil || d.VideoConfig.Codec != v.Codec:
		d.Dropped++ // frames before their sequence header cannot be decoded
		return nil, false, nil
	}
	if v.Keyframe {
		// a new size without a new sequence header comes with the keyframe
		if cfg := codec.InBandConfig(d.VideoConfig, v.Data); cfg != nil {
			d.VideoConfig, changed = cfg, true
		}
	}
	dts := time.Duration(ts) * time.Millisecond
	return &engine.Packet{
		Track: engine.TrackVideo, Codec: v.Codec, DTS: dts, PTS: dts + v.CTS,
		Keyframe: v.Keyframe, Payload: v.Data, Config: d.VideoConfig,
	}, changed, nil
}

func videoConfig(v VideoBody) (*engine.CodecConfig, error) {
	if v.Codec == engine.CodecH265 {
		return codec.H265Config(v.Data)
	}
	// Packets are stored with 4-byte NAL lengths, as every encoder sends.
	if len(v.Data) > 4 && v.Data[4]&3 != 3 {
		return nil, fmt.Errorf("NAL length size %d is not supported (want 4)", v.Data[4]&3+1)
	}
	return codec.H264Config(v.Data)
}

// Audio takes one audio tag body at timestamp ts (ms), like Video.
func (d *Depacketizer) Audio(ts uint32, b []byte) (p *engine.Packet, changed bool, err error) {
	a, err := ParseAudio(b)
	if err != nil {
		return nil, false, err
	}
	if a.SeqHeader {
		cfg, err := codec.AACConfig(a.Data)
		if err != nil {
			// ffmpeg copying AAC from MPEG-TS sends an empty header before
			// the real one; like other servers, wait for a usable one and
			// keep the video (and any audio configuration already known).
			if !d.ignoredAudio && d.Log != nil {
				d.Log.Warn("audio configuration ignored until a valid one arrives", "err", err, "bytes", len(a.Data))
			}
			d.ignoredAudio = true
			return nil, false, nil
		}
		if cfg.Equal(d.AudioConfig) {
			return nil, false, nil
		}
		d.AudioConfig = cfg
		return nil, true, nil
	}
	if a.Codec != engine.CodecAAC && (d.AudioConfig == nil || d.AudioConfig.Codec != a.Codec) {
		d.AudioConfig = &engine.CodecConfig{Codec: a.Codec, SampleRate: 8000, Channels: a.Channels}
		changed = true
	}
	if d.AudioConfig == nil || len(a.Data) == 0 {
		d.Dropped++
		return nil, changed, nil
	}
	dts := time.Duration(ts) * time.Millisecond
	return &engine.Packet{
		Track: engine.TrackAudio, Codec: a.Codec, DTS: dts, PTS: dts,
		Keyframe: true, Payload: a.Data, Config: d.AudioConfig,
	}, changed, nil
}

// Tag takes one video or audio tag body, like Video and Audio, and writes
// what it gives to pub: a new configuration (SetConfig) before the packet.
// It returns the configuration when it changed, for the caller to log,
// and nil otherwise. RTMP publishers and pulled streams are fed through
// it alike.
func (d *Depacketizer) Tag(pub *engine.Publisher, video bool, ts uint32, body []byte) (*engine.CodecConfig, error) {
	track, take := engine.TrackAudio, d.Audio
	if video {
		track, take = engine.TrackVideo, d.Video
	}
	p, changed, err := take(ts, body)
	if err != nil {
		return nil, err
	}
	var cfg *engine.CodecConfig
	if changed {
		cfg = d.AudioConfig
		if video {
			cfg = d.VideoConfig
		}
		pub.SetConfig(track, cfg)
	}
	if p != nil {
		pub.WritePacket(p)
	}
	return cfg, nil
}
