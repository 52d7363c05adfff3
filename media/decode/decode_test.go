package decode

import (
	"context"
	"image/color"
	"math"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/mediatest"
	"chalkcast/internal/testkit"
)

// near reports whether two colours differ by at most tol in each channel.
func near(a, b color.RGBA, tol int) bool {
	d := func(x, y uint8) bool { return math.Abs(float64(x)-float64(y)) <= float64(tol) }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}

func TestVideoDecodesColours(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg")
	for _, enc := range []string{"libx264", "libx265"} {
		t.Run(enc, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// Left half red, right half blue, 1280x720.
			src := "color=c=red:size=640x720:rate=30[l];color=c=blue:size=640x720:rate=30[r];[l][r]hstack"
			clip, err := mediatest.VideoClip(ctx, src, enc, 20, "")
			if err != nil {
				t.Fatal(err)
			}
			v, err := NewVideo(clip.Config)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			got := 0
			for _, p := range clip.Packets {
				ok, err := v.Decode(p.Payload)
				if err != nil {
					t.Fatalf("frame %d: %v", got, err)
				}
				if ok {
					got++
				}
			}
			if got < len(clip.Packets)-2 {
				t.Fatalf("%d pictures from %d access units", got, len(clip.Packets))
			}
			pic, err := v.Picture(nil, 640)
			if err != nil {
				t.Fatal(err)
			}
			if w, h := pic.Rect.Dx(), pic.Rect.Dy(); w != 640 || h != 360 {
				t.Fatalf("picture %dx%d, want 640x360", w, h)
			}
			red, blue := color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}
			if c := pic.RGBAAt(160, 180); !near(c, red, 40) {
				t.Errorf("left half is %v, want red", c)
			}
			if c := pic.RGBAAt(480, 180); !near(c, blue, 40) {
				t.Errorf("right half is %v, want blue", c)
			}
		})
	}
}

func TestVideoSurvivesDamage(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clip, err := mediatest.VideoClip(ctx, "testsrc2=size=320x240:rate=30", "libx264", 10, "")
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVideo(clip.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	garbage := [][]byte{{0, 0, 0, 9, 0x65, 1, 2, 3}, {0xff, 0xff, 0xff, 0xff}, {0, 0, 0, 1}}
	for _, g := range garbage {
		_, _ = v.Decode(g) // an error or nothing, never a crash
	}
	got := false
	for _, p := range clip.Packets {
		ok, _ := v.Decode(p.Payload)
		got = got || ok
	}
	if !got {
		t.Fatal("no picture after damaged input")
	}
}

func TestAudioDecodesTone(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A 1 kHz sine at half of full scale (-6 dBFS), stereo.
	clip, err := mediatest.AACClip(ctx, "aevalsrc=0.5*sin(2*PI*1000*t):s=48000:c=stereo", 2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAudio(clip.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	peak, n := 0.0, 0
	for _, p := range clip.Packets[5:] { // after the encoder's start-up
		err := a.Decode(p.Payload, func(s []float32, ch int) {
			if ch != 2 {
				t.Fatalf("%d channels, want 2", ch)
			}
			n += len(s) / ch
			for _, v := range s {
				peak = max(peak, math.Abs(float64(v)))
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n < 40000 {
		t.Errorf("%d samples per channel, want about 43000", n)
	}
	if peak < 0.45 || peak > 0.56 {
		t.Errorf("peak %.3f, want about 0.5", peak)
	}
}

func TestUnsupported(t *testing.T) {
	if _, err := NewVideo(&engine.CodecConfig{Codec: engine.CodecAAC}); err == nil {
		t.Error("NewVideo accepted AAC")
	}
	if _, err := NewVideo(&engine.CodecConfig{Codec: engine.CodecH264}); err == nil {
		t.Error("NewVideo accepted H.264 without its record")
	}
	if _, err := NewAudio(&engine.CodecConfig{Codec: engine.CodecUnknown}); err == nil {
		t.Error("NewAudio accepted an unknown codec")
	}
}
