package record

import (
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"

	"chalkcast/engine"
	"chalkcast/engine/codec"
	"chalkcast/media/flv"
)

// container turns packets into a file's bytes. Every slice it returns is
// a whole unit (a header, a fragment, FLV tags): a file cut after any of
// them plays.
type container interface {
	// header starts the file.
	header() ([]byte, error)
	// add takes one packet whose DTS is not before the file's start; it
	// returns bytes to write once it has a fragment's worth.
	add(p *engine.Packet) ([]byte, error)
	// finish returns what finishes the file.
	finish() ([]byte, error)
	// duration is the media time written or pending so far.
	duration() time.Duration
	// frames is how many video frames the file has taken.
	frames() int
}

// fromScale converts v units of a clock of rate Hz to a duration without
// overflowing (v*time.Second would after 28 hours at 90 kHz).
func fromScale(v int64, rate uint32) time.Duration {
	r := int64(rate)
	return time.Duration(v/r)*time.Second + time.Duration(v%r)*time.Second/time.Duration(r)
}

// toScale converts d to units of a clock of rate Hz without overflowing.
func toScale(d time.Duration, rate uint32) int64 {
	r := int64(rate)
	return int64(d/time.Second)*r + int64(d%time.Second)*r/int64(time.Second)
}

// fmp4File writes fragmented MP4: an init section (ftyp, moov), then one
// moof+mdat fragment per second of media or more, each starting at a
// keyframe. Each fragment is written whole,
// so a file cut off by a crash plays up to its last fragment.
type fmp4File struct {
	init   fmp4.Init
	start  time.Duration // stream DTS of the file's time zero
	every  time.Duration
	tracks []*fmp4Track // the first one (video if any) cuts the fragments
	byKind map[engine.Track]*fmp4Track
	seq    uint32
	cut    time.Duration // stream DTS of the open fragment's start
	video  int           // video samples taken
}

type fmp4Track struct {
	id       int
	scale    uint32
	pending  *fmp4.Sample // the newest sample: its duration is known at the next one
	pendDTS  int64
	samples  []*fmp4.Sample
	base     int64 // DTS of samples[0]
	lastDur  uint32
	end      int64 // DTS after the last sample with a known duration
	hasStart bool
	first    int64
}

func newFMP4(video, audio *engine.CodecConfig, start, every time.Duration) (*fmp4File, error) {
	f := &fmp4File{start: start, every: every, cut: start, byKind: map[engine.Track]*fmp4Track{}}
	add := func(kind engine.Track, scale uint32, c mp4.Codec) {
		t := &fmp4Track{id: len(f.tracks) + 1, scale: scale}
		f.tracks = append(f.tracks, t)
		f.byKind[kind] = t
		f.init.Tracks = append(f.init.Tracks, &fmp4.InitTrack{ID: t.id, TimeScale: scale, Codec: c})
	}
	if video != nil {
		switch video.Codec {
		case engine.CodecH264:
			rec, err := codec.ParseAVCRecord(video.Record)
			if err != nil || len(rec.PPS) == 0 {
				return nil, fmt.Errorf("record: H.264 configuration: %v", err)
			}
			add(engine.TrackVideo, 90000, &mp4.CodecH264{SPS: rec.SPS[0], PPS: rec.PPS[0]})
		case engine.CodecH265:
			vps, sps, pps, err := codec.HEVCParams(video.Record)
			if err != nil || len(vps) == 0 || len(pps) == 0 {
				return nil, fmt.Errorf("record: H.265 configuration: %v", err)
			}
			add(engine.TrackVideo, 90000, &mp4.CodecH265{VPS: vps[0], SPS: sps[0], PPS: pps[0]})
		}
	}
	if audio != nil && audio.Codec == engine.CodecAAC {
		var asc mpeg4audio.AudioSpecificConfig
		if err := asc.Unmarshal(audio.Record); err != nil {
			return nil, fmt.Errorf("record: AAC configuration: %w", err)
		}
		add(engine.TrackAudio, uint32(asc.SampleRate), &mp4.CodecMPEG4Audio{Config: asc})
	}
	if len(f.tracks) == 0 {
		return nil, fmt.Errorf("record: nothing to record in MP4 (video %v, audio %v)", video, audio)
	}
	return f, nil
}

func (f *fmp4File) header() ([]byte, error) {
	var b seekablebuffer.Buffer
	if err := f.init.Marshal(&b); err != nil {
		return nil, fmt.Errorf("record: MP4 header: %w", err)
	}
	return b.Bytes(), nil
}

func (f *fmp4File) add(p *engine.Packet) ([]byte, error) {
	t := f.byKind[p.Track]
	if t == nil {
		return nil, nil // a track the file has no room for (G.711 in MP4)
	}
	dts := toScale(p.DTS-f.start, t.scale)
	if t.pending != nil {
		t.settle(max(dts-t.pendDTS, 1))
	}
	t.pending = &fmp4.Sample{
		PTSOffset:       int32(toScale(p.PTS-p.DTS, t.scale)),
		IsNonSyncSample: p.Track == engine.TrackVideo && !p.Keyframe,
		Payload:         p.Payload,
	}
	t.pendDTS = dts
	if p.Track == engine.TrackVideo {
		f.video++
	}
	if !t.hasStart {
		t.hasStart, t.first = true, dts
	}
	// A fragment ends before a keyframe, so that each one starts with a
	// picture that decodes alone and can be a replay's segment by itself;
	// a stream whose keyframes are far apart (or missing) is cut anyway
	// at maxFragments times the interval, bounding what is held.
	if t == f.tracks[0] && p.DTS-f.cut >= f.every && (p.Keyframe || p.DTS-f.cut >= maxFragments*f.every) {
		f.cut = p.DTS
		return f.fragment()
	}
	return nil, nil
}

// maxFragments bounds a fragment waiting for a keyframe, in fragment
// intervals.
const maxFragments = 10

// settle gives the pending sample its duration and queues it.
func (t *fmp4Track) settle(d int64) {
	t.pending.Duration = uint32(d)
	t.lastDur = uint32(d)
	if len(t.samples) == 0 {
		t.base = t.pendDTS
	}
	t.samples = append(t.samples, t.pending)
	t.end = t.pendDTS + d
	t.pending = nil
}

// fragment marshals the queued samples of every track.
func (f *fmp4File) fragment() ([]byte, error) {
	part := fmp4.Part{SequenceNumber: f.seq + 1}
	for _, t := range f.tracks {
		if len(t.samples) == 0 {
			continue
		}
		part.Tracks = append(part.Tracks, &fmp4.PartTrack{ID: t.id, BaseTime: uint64(t.base), Samples: t.samples})
	}
	if len(part.Tracks) == 0 {
		return nil, nil
	}
	var b seekablebuffer.Buffer
	if err := part.Marshal(&b); err != nil {
		return nil, fmt.Errorf("record: MP4 fragment: %w", err)
	}
	f.seq++
	for _, t := range f.tracks {
		t.samples = nil
	}
	return b.Bytes(), nil
}

func (f *fmp4File) frames() int { return f.video }

func (f *fmp4File) finish() ([]byte, error) {
	for _, t := range f.tracks {
		if t.pending == nil {
			continue
		}
		d := int64(t.lastDur)
		if d == 0 {
			d = int64(t.scale) / 25 // a single frame: call it one frame of 25 fps
		}
		t.settle(d)
	}
	return f.fragment()
}

func (f *fmp4File) duration() time.Duration {
	t := f.tracks[0]
	if !t.hasStart {
		return 0
	}
	return fromScale(max(t.end, t.pendDTS)-t.first, t.scale)
}

// flvFile writes FLV tags, flushed once a second.
type flvFile struct {
	video, audio *engine.CodecConfig
	start, every time.Duration
	buf          []byte
	flushed      time.Duration
	first, last  time.Duration
	any          bool
	nvideo       int
}

func newFLV(video, audio *engine.CodecConfig, start, every time.Duration) *flvFile {
	return &flvFile{video: video, audio: audio, start: start, every: every, flushed: start}
}

func (f *flvFile) header() ([]byte, error) {
	b := flv.Header(f.video != nil, f.audio != nil)
	b = append(b, flv.SequenceTag(f.video, 0)...)
	return append(b, flv.SequenceTag(f.audio, 0)...), nil
}

func (f *flvFile) add(p *engine.Packet) ([]byte, error) {
	// the file starts at 0: a copy of the packet with shifted timestamps
	q := &engine.Packet{Track: p.Track, Codec: p.Codec, PTS: p.PTS - f.start, DTS: p.DTS - f.start,
		Keyframe: p.Keyframe, Payload: p.Payload, Config: p.Config}
	f.buf = append(f.buf, flv.PacketTag(q)...)
	if !f.any {
		f.any, f.first = true, q.DTS
	}
	f.last = max(f.last, q.DTS)
	if p.Track == engine.TrackVideo {
		f.nvideo++
	}
	if p.DTS-f.flushed >= f.every {
		f.flushed = p.DTS
		out := f.buf
		f.buf = nil
		return out, nil
	}
	return nil, nil
}

func (f *flvFile) frames() int { return f.nvideo }

func (f *flvFile) finish() ([]byte, error) {
	out := f.buf
	f.buf = nil
	return out, nil
}

func (f *flvFile) duration() time.Duration { return f.last - f.first }
