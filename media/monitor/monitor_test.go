package monitor

import (
	"bytes"
	"context"
	"errors"
	"image/color"
	"image/jpeg"
	"log/slog"
	"math"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/mediatest"
	"chalkcast/internal/testkit"
	"chalkcast/media/audio"
)

// setup returns a hub whose muted streams send silence, a running monitor
// and a live stream named "class".
func setup(t *testing.T) (*engine.Hub, *Monitor, *engine.Publisher) {
	t.Helper()
	testkit.NeedTools(t, "ffmpeg")
	log := slog.New(slog.DiscardHandler)
	hub, err := engine.New(engine.Config{Silence: audio.Silence}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Close)
	if _, err := hub.Create(engine.StreamConfig{Name: "class", Source: engine.Source{Type: "rtmp"}}); err != nil {
		t.Fatal(err)
	}
	s, _ := hub.Get("class")
	pub, err := s.Publish(engine.SourceInfo{Protocol: "test"})
	if err != nil {
		t.Fatal(err)
	}
	m := New(hub, log)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { m.Run(ctx); close(ran) }()
	t.Cleanup(func() { // before hub.Close: the pool still runs
		cancel()
		select {
		case <-ran:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return (its decoders were not freed) after its context ended")
		}
	})
	return hub, m, pub
}

func TestPreviewShowsTheStream(t *testing.T) {
	_, m, pub := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clip, err := mediatest.VideoClip(ctx, "color=c=red:size=640x720:rate=30[l];color=c=blue:size=640x720:rate=30[r];[l][r]hstack", "libx264", 60, "")
	if err != nil {
		t.Fatal(err)
	}
	go mediatest.Play(ctx, pub, clip)

	if p := m.Picture("class"); p != nil {
		t.Fatal("a picture while nobody looks")
	}
	// a card 256 pixels wide gets pictures of its own size
	release := m.Look("class", 256)
	var first *Picture
	testkit.WaitFor(t, 5*time.Second, "a preview picture", func() bool { first = m.Picture("class"); return first != nil })
	if w, h := first.Image.Rect.Dx(), first.Image.Rect.Dy(); w != 256 || h != 144 {
		t.Errorf("picture %d×%d, want 256×144", w, h)
	}
	if c := first.Image.RGBAAt(40, 40); c.R < 200 || c.B > 60 {
		t.Errorf("left of the preview is %v, want red", c)
	}
	// it moves: at least 10 new pictures a second, each close to live
	seen, worst := map[*Picture]bool{}, time.Duration(0)
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if p := m.Picture("class"); p != nil && !seen[p] {
			seen[p] = true
			worst = max(worst, time.Since(p.Published))
		}
	}
	if len(seen) < 10 {
		t.Errorf("%d pictures in a second, want at least 10", len(seen))
	}
	t.Logf("%d pictures in a second, at most %v behind the stream", len(seen), worst)

	// preview.jpg is 640 wide meanwhile
	b, err := m.Snapshot(ctx, "class", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if w := img.Bounds().Dx(); w != MaxWidth {
		t.Errorf("preview.jpg %d wide, want %d", w, MaxWidth)
	}
	r, g, bl, _ := img.At(500, 200).RGBA()
	if c := (color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}); c.B < 200 || c.R > 60 {
		t.Errorf("right of the JPEG is %v, want blue", c)
	}

	release()
	release() // twice is harmless
	time.Sleep(Linger + 500*time.Millisecond)
	if p := m.Picture("class"); p != nil {
		t.Error("the preview still decodes after everybody stopped looking")
	}
}

func TestSnapshotOfAStreamThatIsNotLive(t *testing.T) {
	hub, m, pub := setup(t)
	if _, err := m.Snapshot(context.Background(), "nope", time.Second); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("unknown stream: %v", err)
	}
	if err := hub.SetStopped("class", true); err != nil {
		t.Fatal(err)
	}
	_ = pub
	if _, err := m.Snapshot(context.Background(), "class", time.Second); !errors.Is(err, engine.ErrNotLive) {
		t.Errorf("stopped stream: %v", err)
	}
}

// level waits for the stream's level to satisfy ok.
func level(t *testing.T, s *engine.Stream, d time.Duration, what string, ok func(engine.AudioLevel) bool) time.Duration {
	t.Helper()
	start := time.Now()
	testkit.WaitFor(t, d, what, func() bool { l, have := s.AudioLevel(); return have && ok(l) })
	return time.Since(start)
}

func TestMeterMuteAndSilence(t *testing.T) {
	hub, _, pub := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tone, err := mediatest.AACClip(ctx, "aevalsrc=0.5*sin(2*PI*1000*t):s=48000:c=stereo", 2, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	go mediatest.Play(ctx, pub, tone)
	s, _ := hub.Get("class")
	level(t, s, 5*time.Second, "the tone's level", func(l engine.AudioLevel) bool { return math.Abs(l.SecondPeak+6) < 1 })
	// the clip starts with the encoder's priming: the loudest window counts
	loudest := engine.SilenceFloor
	for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		l, _ := s.AudioLevel()
		loudest = max(loudest, l.Loudness)
	}
	if math.Abs(loudest+9) > 1 {
		t.Errorf("a -6 dBFS sine measured a loudness of %.1f dBFS, want -9", loudest)
	}

	if err := hub.SetMuted("class", true); err != nil {
		t.Fatal(err)
	}
	took := level(t, s, 3*time.Second, "silence after muting", func(l engine.AudioLevel) bool { return l.SecondPeak <= -90 })
	t.Logf("muted: the last second's peak fell to silence in %v", took)
	if took > time.Second {
		t.Errorf("muting took %v to reach silence", took)
	}
	if s.Silent() != "" {
		t.Errorf("a muted stream is said to be silent: %q", s.Silent())
	}
	if err := hub.SetMuted("class", false); err != nil {
		t.Fatal(err)
	}
	took = level(t, s, 3*time.Second, "sound after unmuting", func(l engine.AudioLevel) bool { return l.Peak > -10 })
	t.Logf("unmuted: the meter showed the sound again in %v", took)
}

func TestNoSound(t *testing.T) {
	hub, _, pub := setup(t)
	sub := hub.Subscribe(64)
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	quiet, err := mediatest.AACClip(ctx, "aevalsrc=0.001*sin(2*PI*440*t):s=44100:c=mono", 1, 2*time.Second) // -60 dBFS
	if err != nil {
		t.Fatal(err)
	}
	go mediatest.Play(ctx, pub, quiet)
	s, _ := hub.Get("class")
	start := time.Now()
	testkit.WaitFor(t, QuietFor+5*time.Second, "the no-sound state", func() bool { return s.Silent() == audio.ReasonQuiet })
	if d := time.Since(start); d < QuietFor-time.Second {
		t.Errorf("silent after %v, want %v", d, QuietFor)
	}
	found := false
	for len(sub.C) > 0 {
		if e := <-sub.C; e.Kind == engine.EventNoSound && e.Stream == "class" {
			found = true
		}
	}
	if !found {
		t.Error("no EventNoSound")
	}
	st := s.Stats(engine.StatsOptions{})
	if st.Audio == nil || !st.Audio.Silent || st.Audio.LevelDBFS == nil || *st.Audio.LevelDBFS > QuietBelow {
		t.Errorf("stats audio %+v", st.Audio)
	}
}
