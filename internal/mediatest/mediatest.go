// Package mediatest checks what Chalkcast sends with ffmpeg and ffprobe,
// the real tools students' players are measured against: it records a
// stream, reports its tracks, frame rate, keyframe spacing and timestamps,
// and measures lip sync from the test pattern's flash and beep. Tests and
// measurement commands use it; it needs ffmpeg and ffprobe on the PATH.
package mediatest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Record copies d of the stream at url into a file in dir (MPEG-TS for
// HLS and RTSP, FLV otherwise) and returns its path. rtsp+tcp:// and rtsp+udp://
// choose the RTSP transport.
func Record(ctx context.Context, url, dir string, d time.Duration) (string, error) {
	out := filepath.Join(dir, "record.flv")
	format := "flv"
	if filepath.Ext(url) == ".m3u8" || regexp.MustCompile(`\.m3u8(\?|$)`).MatchString(url) || strings.HasPrefix(url, "rtsp") {
		out, format = filepath.Join(dir, "record.ts"), "mpegts"
	}
	ctx, cancel := context.WithTimeout(ctx, d+20*time.Second)
	defer cancel()
	args := []string{"-nostdin", "-v", "error", "-y"}
	if transport, ok := strings.CutPrefix(url, "rtsp+"); ok { // rtsp+udp://, rtsp+tcp://
		tr, rest, _ := strings.Cut(transport, "://")
		args = append(args, "-rtsp_transport", tr, "-timeout", "10000000")
		url = "rtsp://" + rest
	} else {
		args = append(args, "-rw_timeout", "10000000")
	}
	args = append(args, "-i", url, "-t", fmt.Sprintf("%.3f", d.Seconds()), "-c", "copy", "-f", format, out)
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("ffmpeg record %s: %w: %s", url, err, b)
	}
	return out, nil
}

// Stream is one track as ffprobe reports it.
type Stream struct {
	Codec      string `json:"codec_name"`
	Profile    string `json:"profile"`
	Type       string `json:"codec_type"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	SampleRate string `json:"sample_rate"`
	Channels   int    `json:"channels"`
}

// Packet is one packet as ffprobe reports it.
type Packet struct {
	Stream int     `json:"stream_index"`
	PTS    float64 `json:"pts_time,string"`
	DTS    float64 `json:"dts_time,string"`
	Flags  string  `json:"flags"`
}

// Report is what ffprobe found in a file.
type Report struct {
	Streams []Stream `json:"streams"`
	Packets []Packet `json:"packets"`
}

// Probe runs ffprobe on file.
func Probe(ctx context.Context, file string) (*Report, error) {
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-of", "json",
		"-show_entries", "stream=codec_name,profile,codec_type,width,height,sample_rate,channels:packet=stream_index,pts_time,dts_time,flags",
		file).Output()
	if err != nil {
		return nil, fmt.Errorf("ffprobe %s: %w", file, err)
	}
	var r Report
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("ffprobe %s: %w", file, err)
	}
	return &r, nil
}

// Track returns the first stream of type typ ("video", "audio") and its
// index.
func (r *Report) Track(typ string) (Stream, int, bool) {
	for i, s := range r.Streams {
		if s.Type == typ {
			return s, i, true
		}
	}
	return Stream{}, -1, false
}

// Times returns the DTS of the packets of stream idx, in file order, and
// the PTS of its keyframes.
func (r *Report) Times(idx int) (dts, keys []float64) {
	for _, p := range r.Packets {
		if p.Stream != idx {
			continue
		}
		dts = append(dts, p.DTS)
		if len(p.Flags) > 0 && p.Flags[0] == 'K' {
			keys = append(keys, p.PTS)
		}
	}
	return dts, keys
}

// CheckVideo checks the video track of r: a keyframe first, monotonic
// timestamps, a frame rate within 5 % of fps, and keyframes every keyEvery
// (within one frame). It returns the measured frame rate.
func (r *Report) CheckVideo(fps float64, keyEvery time.Duration) (float64, error) {
	_, idx, ok := r.Track("video")
	if !ok {
		return 0, errors.New("no video track")
	}
	dts, keys := r.Times(idx)
	if len(dts) < 2 || len(keys) == 0 {
		return 0, fmt.Errorf("%d video packets, %d keyframes", len(dts), len(keys))
	}
	if err := monotonic(dts); err != nil {
		return 0, fmt.Errorf("video: %w", err)
	}
	first := r.firstPacket(idx)
	if first.Flags == "" || first.Flags[0] != 'K' {
		return 0, errors.New("video does not start with a keyframe")
	}
	got := float64(len(dts)-1) / (dts[len(dts)-1] - dts[0])
	if raceBuild {
		return got, nil // see raceBuild
	}
	if got < fps*0.95 || got > fps*1.05 {
		return got, fmt.Errorf("frame rate %.2f, want %.0f ± 5 %%", got, fps)
	}
	for i := 1; i < len(keys); i++ {
		if d := keys[i] - keys[i-1]; d < keyEvery.Seconds()-1.01/fps || d > keyEvery.Seconds()+1.01/fps {
			return got, fmt.Errorf("keyframes %.3f s apart at %.3f s, want %v", d, keys[i], keyEvery)
		}
	}
	return got, nil
}

// CheckAudio checks that the audio track's timestamps are monotonic.
func (r *Report) CheckAudio() error {
	_, idx, ok := r.Track("audio")
	if !ok {
		return errors.New("no audio track")
	}
	dts, _ := r.Times(idx)
	if len(dts) < 2 {
		return fmt.Errorf("%d audio packets", len(dts))
	}
	return monotonic(dts)
}

func (r *Report) firstPacket(idx int) Packet {
	for _, p := range r.Packets {
		if p.Stream == idx {
			return p
		}
	}
	return Packet{}
}

func monotonic(ts []float64) error {
	for i := 1; i < len(ts); i++ {
		if ts[i] < ts[i-1] {
			return fmt.Errorf("timestamp went back from %.3f to %.3f", ts[i-1], ts[i])
		}
	}
	return nil
}

// Want is what a stream should be.
type Want struct {
	Width, Height int
	FPS           float64
	KeyEvery      time.Duration
	Audio         bool // an AAC track
}

// Check records d of url into dir and checks it against want with
// ffprobe: H.264 of the size, frame rate and keyframe spacing wanted, a
// keyframe first, monotonic timestamps, and AAC audio if wanted. It
// returns the recording, its report and the measured frame rate.
func Check(ctx context.Context, url, dir string, d time.Duration, want Want) (string, *Report, float64, error) {
	file, err := Record(ctx, url, dir, d)
	if err != nil {
		return "", nil, 0, err
	}
	rep, err := Probe(ctx, file)
	if err != nil {
		return "", nil, 0, err
	}
	v, _, ok := rep.Track("video")
	if !ok || v.Codec != "h264" || v.Width != want.Width || v.Height != want.Height {
		return file, rep, 0, fmt.Errorf("%s: video track %+v, want h264 %dx%d", url, v, want.Width, want.Height)
	}
	fps, err := rep.CheckVideo(want.FPS, want.KeyEvery)
	if err != nil {
		return file, rep, fps, fmt.Errorf("%s: %w", url, err)
	}
	a, _, ok := rep.Track("audio")
	if ok != want.Audio || (ok && a.Codec != "aac") {
		return file, rep, fps, fmt.Errorf("%s: audio track %+v (present %v), want AAC %v", url, a, ok, want.Audio)
	}
	if ok {
		if err := rep.CheckAudio(); err != nil {
			return file, rep, fps, fmt.Errorf("%s: %w", url, err)
		}
	}
	return file, rep, fps, nil
}

// Sync is one test-pattern second: when its flash and its beep start, in
// stream time, and by how much the sound is late (negative: early).
type Sync struct {
	Flash, Beep float64
	Offset      time.Duration
}

var (
	flashRE = regexp.MustCompile(`black_start:([0-9.]+)`)
	beepRE  = regexp.MustCompile(`silence_end: ([0-9.]+)`)
)

// SyncOffsets decodes a recording of the test pattern and pairs each
// flash (the top-left corner turns white) with the beep that starts
// within half a second of it.
func SyncOffsets(ctx context.Context, file string) ([]Sync, error) {
	// Inverting the corner makes the flash the only "black" that
	// blackdetect sees; silencedetect ends its silences where beeps begin.
	out, err := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", file,
		"-vf", "crop=iw/8:ih/6:0:0,lutyuv=y='if(gte(val,220),16,235)':u=128:v=128,blackdetect=d=0.05:pix_th=0.1",
		"-af", "silencedetect=n=-30dB:d=0.3", "-f", "null", "-").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg sync analysis of %s: %w: %s", file, err, out)
	}
	var flashes, beeps []float64
	for _, m := range flashRE.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		flashes = append(flashes, v)
	}
	for _, m := range beepRE.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		beeps = append(beeps, v)
	}
	sort.Float64s(beeps)
	var res []Sync
	for _, f := range flashes {
		i := sort.SearchFloat64s(beeps, f-0.5)
		if i < len(beeps) && beeps[i] < f+0.5 {
			res = append(res, Sync{Flash: f, Beep: beeps[i], Offset: time.Duration((beeps[i] - f) * float64(time.Second))})
		}
	}
	// the end of the file also ends a silence: the last pair may be that
	if len(res) > 0 {
		res = res[:len(res)-1]
	}
	return res, nil
}
