package testpattern

import (
	"context"
	"errors"
	"image"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/testkit"
)

// The picture: seven colour bars, a grey band with a white bar that
// sweeps across it every 4 s, and the sync flash in the top-left corner
// during the first 100 ms of each second.
func TestPatternDraws(t *testing.T) {
	const w, h = 640, 360
	p := NewPattern(w, h)
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		t       time.Duration
		flash   bool
		sweepAt float64 // where the sweeping bar is, as a fraction of the width
	}{
		{"start of a second", 0, true, 0},
		{"half a second in", 500 * time.Millisecond, false, 0.125},
		{"two seconds in", 2 * time.Second, true, 0.5},
		{"just after the flash", 3*time.Second + Flash, false, 0.775},
	} {
		p.Draw(img, 1, at.Add(c.t), c.t)
		for i, want := range bars {
			x := i*w/len(bars) + w/len(bars)/2
			if i == 0 && c.flash {
				continue // under the flash
			}
			if got := img.YCbCrAt(x, h/8); got.Y != want.y || got.Cb != want.cb || got.Cr != want.cr {
				t.Errorf("%s: bar %d is %v, want %v", c.name, i, got, want)
			}
		}
		if corner := img.YCbCrAt(4, 4).Y; (corner == white.y) != c.flash {
			t.Errorf("%s: the corner's luma is %d, flash %v", c.name, corner, c.flash)
		}
		bw := w / 16
		x := int(c.sweepAt*float64(w-bw)) + bw/2
		if got := img.YCbCrAt(x, h-4).Y; got != white.y {
			t.Errorf("%s: no sweeping bar at x=%d (luma %d)", c.name, x, got)
		}
		if got := img.YCbCrAt((x+w/2)%w, h-4).Y; got != grey.y {
			t.Errorf("%s: the band is not grey half a screen from the bar (luma %d)", c.name, got)
		}
	}
}

// The sound: a 1 kHz beep at half scale during the first 100 ms of each
// second, silence otherwise, the same on every channel, continuing
// across calls and skips.
func TestToneBeepsEverySecond(t *testing.T) {
	for _, c := range []struct{ rate, channels int }{{48000, 1}, {44100, 2}} {
		tone := NewTone(c.rate, c.channels)
		on := c.rate * int(Flash) / int(time.Second)
		check := func(what string, s []int16, from int) {
			peakOn, peakOff := 0.0, 0.0
			for i := 0; i < len(s)/c.channels; i++ {
				v := math.Abs(float64(s[i*c.channels]))
				for ch := 1; ch < c.channels; ch++ {
					if s[i*c.channels+ch] != s[i*c.channels] {
						t.Fatalf("%d Hz × %d, %s: channels differ at sample %d", c.rate, c.channels, what, i)
					}
				}
				if (from+i)%c.rate < on {
					peakOn = max(peakOn, v)
				} else {
					peakOff = max(peakOff, v)
				}
			}
			if peakOn < 16000 || peakOn > 16384 || peakOff != 0 {
				t.Errorf("%d Hz × %d, %s: peak %.0f in the beep and %.0f outside it", c.rate, c.channels, what, peakOn, peakOff)
			}
		}
		check("the first second", tone.Next(c.rate), 0)
		tone.Skip(c.rate / 2)
		check("after a skip", append([]int16(nil), tone.Next(c.rate)...), c.rate+c.rate/2)
	}
}

// Run publishes H.264 of the chosen preset, starting at a keyframe, and
// AAC of the chosen rate and channels, on the capture clock; Check
// refuses options the encoders cannot take, in words that say what to do.
func TestKindRunAndCheck(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	hub, err := engine.New(engine.Config{}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	k := New(hub.Pool())
	for _, c := range []struct {
		opts map[string]string
		err  string
	}{
		{map[string]string{"preset": "4k"}, `preset "4k": choose 480p, 720p or 1080p`},
		{map[string]string{"fps": "0"}, `fps "0": use a whole number from 1 to 60`},
		{map[string]string{"audio_rate": "22050"}, "audio_rate 22050: use 44100 or 48000"},
		{map[string]string{"preset": "480p", "fps": "15", "audio_rate": "44100", "audio_channels": "2"}, ""},
	} {
		err := k.Check(engine.Source{Type: Type, Options: c.opts})
		if c.err == "" && err != nil || c.err != "" && (err == nil || !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("Check(%v) = %v, want %q", c.opts, err, c.err)
		}
	}

	s, err := hub.Create(engine.StreamConfig{Name: "bars", Source: engine.Source{Type: Type,
		Options: map[string]string{"preset": "480p", "fps": "15", "audio_rate": "44100", "audio_channels": "2"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- k.Run(ctx, s) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run ended with %v", err)
		}
	}()
	testkit.WaitFor(t, 10*time.Second, "the stream live", func() bool { return s.State() == engine.StateLive })
	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	rd, err := s.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var frames, sounds int
	var first, last time.Duration
	for frames < 31 {
		batch, err := rd.Next(wait, nil)
		if err != nil {
			t.Fatalf("after %d frames: %v", frames, err)
		}
		for _, p := range batch {
			switch {
			case p.Track == engine.TrackVideo:
				if frames == 0 && !p.Keyframe {
					t.Fatal("the video does not start at a keyframe")
				}
				if p.Config == nil || p.Config.Width != 854 || p.Config.Height != 480 || p.Codec != engine.CodecH264 {
					t.Fatalf("video %v %+v, want H.264 854×480", p.Codec, p.Config)
				}
				if frames == 0 {
					first = p.DTS
				}
				last = p.DTS
				frames++
			case p.Track == engine.TrackAudio:
				if p.Codec != engine.CodecAAC || p.Config == nil || p.Config.SampleRate != 44100 || p.Config.Channels != 2 {
					t.Fatalf("audio %v %+v, want AAC 44.1 kHz stereo", p.Codec, p.Config)
				}
				sounds++
			}
		}
	}
	// 30 frame intervals at 15 fps are two seconds of the capture clock
	if span := last - first; span < 1900*time.Millisecond || span > 2100*time.Millisecond {
		t.Errorf("31 frames span %v, want 2 s at 15 fps", span)
	}
	if sounds < 60 { // 44100/1024 AAC frames a second
		t.Errorf("%d sound packets with 31 frames, want about 86", sounds)
	}
}
