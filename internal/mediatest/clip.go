package mediatest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os/exec"
	"sort"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"chalkcast/engine"
	"chalkcast/engine/codec"
)

// Clip is media that ffmpeg encoded, cut into the engine's packets: one
// configuration and its access units in decoding order.
type Clip struct {
	Config  *engine.CodecConfig
	Packets []*engine.Packet
}

// VideoClip encodes frames frames of the lavfi source src (for example
// "smptebars=size=1280x720:rate=30") with ffmpeg's encoder enc
// ("libx264" or "libx265"), without B-frames, at bitrate (as ffmpeg
// writes it, "2500k"; "" for the encoder's constant quality).
func VideoClip(ctx context.Context, src, enc string, frames int, bitrate string) (*Clip, error) {
	c := engine.CodecH264
	bsf, format, extra := "h264_metadata=aud=insert", "h264", []string{"-bf", "0", "-g", "30"}
	if enc == "libx265" {
		c = engine.CodecH265
		bsf, format = "hevc_metadata=aud=insert", "hevc"
		extra = []string{"-x265-params", "bframes=0:keyint=30:log-level=none"}
	}
	args := append([]string{"-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", src,
		"-frames:v", fmt.Sprint(frames), "-c:v", enc, "-pix_fmt", "yuv420p"}, extra...)
	if bitrate != "" {
		args = append(args, "-b:v", bitrate)
	}
	args = append(args, "-bsf:v", bsf, "-f", format, "-")
	out, err := run(ctx, args)
	if err != nil {
		return nil, err
	}
	var aus [][][]byte
	var params [3][][]byte // VPS, SPS, PPS
	for _, nal := range splitAnnexB(out) {
		if len(nal) == 0 {
			continue
		}
		typ, slot := nalType(c, nal), codec.ParamSlot(c, nal)
		if c == engine.CodecH264 && slot >= 0 {
			slot++ // H.264 has no VPS
		}
		switch {
		case typ == aud(c):
			aus = append(aus, nil)
		case slot >= 0:
			if len(params[slot]) == 0 {
				params[slot] = [][]byte{nal}
			}
		case len(aus) > 0:
			aus[len(aus)-1] = append(aus[len(aus)-1], nal)
		}
	}
	var cfg *engine.CodecConfig
	if c == engine.CodecH264 {
		rec, err := codec.BuildAVCRecord(params[1], params[2])
		if err != nil {
			return nil, err
		}
		cfg, err = codec.H264Config(rec)
		if err != nil {
			return nil, err
		}
	} else {
		rec, err := codec.BuildHEVCRecord(params[0], params[1], params[2])
		if err != nil {
			return nil, err
		}
		cfg, err = codec.H265Config(rec)
		if err != nil {
			return nil, err
		}
	}
	clip := &Clip{Config: cfg}
	for i, au := range aus {
		var b []byte
		key := false
		for _, nal := range au {
			b = binary.BigEndian.AppendUint32(b, uint32(len(nal)))
			b = append(b, nal...)
			key = key || isKey(c, nalType(c, nal))
		}
		ts := time.Duration(i) * time.Second / 30
		clip.Packets = append(clip.Packets, &engine.Packet{Track: engine.TrackVideo, Codec: c,
			PTS: ts, DTS: ts, Keyframe: key, Payload: b, Config: cfg})
	}
	return clip, nil
}

// AACClip encodes d of the lavfi audio source src (for example
// "sine=frequency=1000:sample_rate=48000") as AAC-LC with channels
// channels.
func AACClip(ctx context.Context, src string, channels int, d time.Duration) (*Clip, error) {
	out, err := run(ctx, []string{"-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", src,
		"-t", fmt.Sprint(d.Seconds()), "-ac", fmt.Sprint(channels), "-c:a", "aac", "-f", "adts", "-"})
	if err != nil {
		return nil, err
	}
	var pkts mpeg4audio.ADTSPackets
	if err := pkts.Unmarshal(out); err != nil {
		return nil, fmt.Errorf("ffmpeg's ADTS: %w", err)
	}
	if len(pkts) == 0 {
		return nil, fmt.Errorf("ffmpeg made no AAC")
	}
	asc := mpeg4audio.AudioSpecificConfig{Type: pkts[0].Type, SampleRate: pkts[0].SampleRate, ChannelCount: pkts[0].ChannelCount}
	rec, err := asc.Marshal()
	if err != nil {
		return nil, err
	}
	cfg, err := codec.AACConfig(rec)
	if err != nil {
		return nil, err
	}
	clip := &Clip{Config: cfg}
	for i, p := range pkts {
		ts := time.Duration(i) * 1024 * time.Second / time.Duration(p.SampleRate)
		clip.Packets = append(clip.Packets, &engine.Packet{Track: engine.TrackAudio, Codec: engine.CodecAAC,
			PTS: ts, DTS: ts, Keyframe: true, Payload: p.AU, Config: cfg})
	}
	return clip, nil
}

func run(ctx context.Context, args []string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg %v: %w: %s", args, err, stderr.Bytes())
	}
	return out, nil
}

// splitAnnexB cuts a byte stream at its start codes.
func splitAnnexB(b []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+3 <= len(b); i++ {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 {
			continue
		}
		if start >= 0 {
			end := i
			for end > start && b[end-1] == 0 {
				end--
			}
			nals = append(nals, b[start:end])
		}
		start = i + 3
		i += 2
	}
	if start >= 0 && start < len(b) {
		nals = append(nals, b[start:])
	}
	return nals
}

func nalType(c engine.Codec, nal []byte) int {
	if c == engine.CodecH264 {
		return int(nal[0] & 0x1f)
	}
	return int(nal[0] >> 1 & 0x3f)
}

func aud(c engine.Codec) int {
	if c == engine.CodecH264 {
		return 9
	}
	return 35
}

func isKey(c engine.Codec, typ int) bool {
	if c == engine.CodecH264 {
		return typ == 5
	}
	return typ >= 16 && typ <= 21
}

// Play writes the clips' packets to pub in real time, video and audio
// interleaved in time order, in a loop, until ctx ends. The clips have no
// B-frames and at least two packets each: each packet's PTS is its DTS.
func Play(ctx context.Context, pub *engine.Publisher, clips ...*Clip) {
	// a loop lasts as long as the shortest clip (its last packet and one
	// packet's time more), so that keyframes stay evenly spaced
	length := time.Duration(math.MaxInt64)
	for _, c := range clips {
		if n := len(c.Packets); n >= 2 {
			length = min(length, 2*c.Packets[n-1].DTS-c.Packets[n-2].DTS)
		}
	}
	var all []*engine.Packet
	for _, c := range clips {
		for _, p := range c.Packets {
			if p.DTS < length {
				all = append(all, p)
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].DTS < all[j].DTS })
	start := time.Now()
	for loop := time.Duration(0); ; loop += length {
		for _, p := range all {
			at := loop + p.DTS
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(start.Add(at))):
			}
			pub.WritePacket(&engine.Packet{Track: p.Track, Codec: p.Codec, PTS: at, DTS: at,
				Keyframe: p.Keyframe, Payload: p.Payload, Config: p.Config})
		}
	}
}

// Live publishes to s, until the test ends, two seconds of 320×180 H.264
// at 30 fps (a keyframe a second) and mono AAC, looped in real time.
func Live(t testing.TB, s *engine.Stream) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	video, err := VideoClip(ctx, "testsrc2=size=320x180:rate=30", "libx264", 60, "")
	if err != nil {
		t.Fatal(err)
	}
	sound, err := AACClip(ctx, "sine=frequency=440", 1, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := s.Publish(engine.SourceInfo{Protocol: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close(nil) })
	// both tracks are known before the first packet, as a publisher's
	// sequence headers announce them: a viewer that joins at once gets both
	pub.SetConfig(engine.TrackVideo, video.Config)
	pub.SetConfig(engine.TrackAudio, sound.Config)
	go Play(ctx, pub, video, sound)
}

// Tap publishes on s and opens a reader of it, both closed when the test
// ends: a test writes packets with the one and sees what the engine made
// of them with the other.
func Tap(t testing.TB, s *engine.Stream, src engine.SourceInfo) (*engine.Publisher, *engine.Reader) {
	t.Helper()
	pub, err := s.Publish(src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close(nil) })
	rd, err := s.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rd.Close)
	return pub, rd
}
