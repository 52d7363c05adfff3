package encode

import (
	"context"
	"image"
	"math"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/mediatest"
	"chalkcast/internal/testkit"
	"chalkcast/media/decode"
)

func newStream(t *testing.T) *engine.Stream {
	t.Helper()
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Close)
	s, err := hub.Create(engine.StreamConfig{Name: "s", Source: engine.Source{Type: "testpattern"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func smallSettings() Settings {
	return Settings{
		Video: VideoSettings{Width: 160, Height: 90, FPS: 30, Bitrate: 200_000, KeyInterval: time.Second},
		Audio: AudioSettings{SampleRate: 48000, Channels: 1, Bitrate: 64000},
	}
}

// TestSlowEncoderDropsFrames: with the pool busy, frames are dropped and
// counted at once instead of queueing up latency.
func TestSlowEncoderDropsFrames(t *testing.T) {
	s := newStream(t)
	pub, err := s.Publish(engine.SourceInfo{Protocol: "test"})
	if err != nil {
		t.Fatal(err)
	}
	pool := engine.NewPool(1, 1)
	defer pool.Close()
	p, err := NewPipeline(context.Background(), pool, pub, smallSettings(), false)
	if err != nil {
		t.Fatal(err)
	}
	// the only worker and the only queue slot are taken
	block, running := make(chan struct{}), make(chan struct{})
	if err := pool.TrySubmit(func() { close(running); <-block }); err != nil {
		t.Fatal(err)
	}
	<-running
	if err := pool.TrySubmit(func() { <-block }); err != nil {
		t.Fatal(err)
	}
	fills := 0
	fill := func(*image.YCbCr) error { fills++; return nil }
	start := time.Now()
	for i := range 5 {
		if err := p.Video(time.Now(), fill); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("offering 5 frames to a busy pool took %v", d)
	}
	if fills != 5 {
		t.Errorf("%d frames drawn", fills)
	}
	close(block)
	time.Sleep(50 * time.Millisecond) // the blocking tasks leave the pool
	// the encoder is free again: frames go through
	for range 3 {
		if err := p.Video(time.Now(), fill); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.Close()
	pub.Close(nil)
	time.Sleep(1100 * time.Millisecond) // a statistics sample
	st := s.Stats(engine.StatsOptions{})
	if st.Encoder == nil || st.Encoder.DroppedFrames != 5 {
		t.Fatalf("encoder stats %+v, want 5 dropped frames", st.Encoder)
	}
	if st.Video == nil {
		t.Fatal("no video reached the stream")
	}
}

func TestAudioClock(t *testing.T) {
	// steady chunks with arrival jitter: timestamps follow the samples
	c := audioClock{rate: 48000}
	chunk := 960 // 20 ms
	for i := range 500 {
		jitter := time.Duration((i*7919)%11-5) * time.Millisecond
		at := time.Duration(i)*20*time.Millisecond + jitter
		pts := c.stamp(at, chunk)
		if want := time.Duration(i) * 20 * time.Millisecond; i > 0 && pts != want+c.base {
			t.Fatalf("chunk %d: pts %v, want %v", i, pts, want+c.base)
		}
	}
	// a sound card 0.5 % fast: its samples outrun the capture clock; the
	// stamps are pulled back so the gap never exceeds maxAudioDrift+ a chunk
	c = audioClock{rate: 48000}
	for i := range 30000 { // 10 minutes
		at := time.Duration(float64(i) * 20 * float64(time.Millisecond) / 1.005)
		pts := c.stamp(at, chunk)
		if d := pts - at; d > maxAudioDrift+20*time.Millisecond || d < -maxAudioDrift-20*time.Millisecond {
			t.Fatalf("chunk %d: audio %v from the capture clock", i, d)
		}
	}
}

// TestPipelineCarriesOpus: the AAC packets carry the same sound as Opus,
// encoded from the samples (44.1 kHz stereo here, resampled to 48 kHz):
// frames back to back in time, a config that says so, and the tone that
// went in.
func TestPipelineCarriesOpus(t *testing.T) {
	pub, rd := mediatest.Tap(t, newStream(t), engine.SourceInfo{})
	set := smallSettings()
	set.Audio = AudioSettings{SampleRate: 44100, Channels: 2, Bitrate: 96000}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := NewPipeline(ctx, engine.NewPool(2, 8), pub, set, true)
	if err != nil {
		t.Fatal(err)
	}
	const chunk = 441 // 10 ms
	pcm := make([]int16, 2*chunk)
	for i := range 100 { // one second of a 440 Hz tone
		for j := range chunk {
			v := int16(12000 * math.Sin(2*math.Pi*440*float64(i*chunk+j)/44100))
			pcm[2*j], pcm[2*j+1] = v, v
		}
		if err := p.Audio(p.Start().Add(time.Duration(i)*10*time.Millisecond), pcm); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	var frames []engine.OpusFrame
	var cfg *engine.CodecConfig
	for len(frames) < 40 {
		batch, err := rd.Next(ctx, nil)
		if err != nil {
			t.Fatalf("after %d Opus frames: %v", len(frames), err)
		}
		for _, pk := range batch {
			if pk.Config.Opus == nil {
				t.Fatalf("an AAC packet's config %+v announces no Opus", pk.Config)
			}
			cfg = pk.Config.Opus
			for _, f := range pk.Opus {
				frames = append(frames, engine.OpusFrame{Offset: pk.PTS + f.Offset, Payload: f.Payload})
			}
		}
	}
	if cfg.Codec != engine.CodecOpus || cfg.SampleRate != OpusRate || cfg.Channels != 2 {
		t.Errorf("Opus config %+v", cfg)
	}
	dec, err := decode.NewAudio(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var mono []float32
	for i, f := range frames {
		if want := frames[0].Offset + time.Duration(i)*OpusFrame; f.Offset != want {
			t.Fatalf("Opus frame %d at %v, want %v", i, f.Offset, want)
		}
		if err := dec.Decode(f.Payload, func(s []float32, ch int) {
			for j := 0; j+ch <= len(s); j += ch {
				mono = append(mono, s[j])
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if hz := testkit.ToneHz(mono[len(mono)/4:], OpusRate); math.Abs(hz-440) > 10 {
		t.Errorf("the Opus sounds at %.0f Hz, want 440", hz)
	}
}
