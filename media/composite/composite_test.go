package composite

import (
	"errors"
	"image"
	"os"
	"testing"
	"time"

	"golang.org/x/image/font/opentype"

	"chalkcast/engine"
	"chalkcast/media/encode"
)

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions(nil)
	if err != nil || o != (Options{PiP, BottomRight, 25}) {
		t.Errorf("defaults: %+v %v", o, err)
	}
	o, err = ParseOptions(map[string]string{"layout": "side-by-side", "corner": "top-left", "size": "40"})
	if err != nil || o != (Options{SideBySide, TopLeft, 40}) {
		t.Errorf("given: %+v %v", o, err)
	}
	for _, bad := range []map[string]string{
		{"layout": "grid"}, {"corner": "middle"}, {"size": "9"}, {"size": "51"}, {"size": "big"},
	} {
		if _, err := ParseOptions(bad); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

func TestAreas(t *testing.T) {
	full := image.Rect(0, 0, 1280, 720)
	for _, c := range []struct {
		opt  Options
		want [2]image.Rectangle
	}{
		{Options{PiP, BottomRight, 25}, [2]image.Rectangle{full, image.Rect(1280-32-320, 720-32-180, 1280-32, 720-32)}},
		{Options{PiP, TopLeft, 25}, [2]image.Rectangle{full, image.Rect(32, 32, 352, 212)}},
		{Options{PiP, TopRight, 50}, [2]image.Rectangle{full, image.Rect(1280-32-640, 32, 1280-32, 392)}},
		{Options{SideBySide, BottomRight, 25}, [2]image.Rectangle{image.Rect(0, 180, 640, 540), image.Rect(640, 180, 1280, 540)}},
		{Options{Main, BottomRight, 25}, [2]image.Rectangle{full, {}}},
		{Options{Overlay, BottomRight, 25}, [2]image.Rectangle{{}, full}},
	} {
		got := c.opt.Areas(1280, 720)
		if got != c.want {
			t.Errorf("%+v: %v, want %v", c.opt, got, c.want)
		}
		for _, a := range got {
			if a.Min.X%2 != 0 || a.Min.Y%2 != 0 || a.Dx()%2 != 0 || a.Dy()%2 != 0 {
				t.Errorf("%+v: odd area %v", c.opt, a)
			}
		}
	}
}

// solid returns a fill that paints the input's buffer luma y.
func solid(y uint8) func(*image.YCbCr) error {
	return func(dst *image.YCbCr) error { encode.Fill(dst, y, 128, 128); return nil }
}

func lumaAt(img *image.YCbCr, x, y int) uint8 { return img.Y[img.YOffset(x, y)] }

func TestComposeFollowsTheLayout(t *testing.T) {
	s := New(1280, 720, Options{PiP, BottomRight, 25}, [2]string{"Screen unavailable", "Camera disconnected"}, nil)
	dst := image.NewYCbCr(image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio420)
	now := time.Now()
	put := func() {
		t.Helper()
		if err := s.Input(0).Put(now, solid(60)); err != nil {
			t.Fatal(err)
		}
		if err := s.Input(1).Put(now.Add(time.Millisecond), solid(200)); err != nil {
			t.Fatal(err)
		}
	}
	put()
	if got := s.Input(1).Size(); got != image.Pt(320, 180) {
		t.Errorf("the corner input draws at %v", got)
	}
	s.Compose(dst, now)
	if !s.Input(0).At().Equal(now) || !s.Input(1).At().Equal(now.Add(time.Millisecond)) {
		t.Errorf("capture times %v, %v", s.Input(0).At(), s.Input(1).At())
	}
	for _, p := range []struct {
		x, y int
		want uint8
	}{{10, 10, 60}, {1280 - 40, 720 - 40, 200}, {1280 - 40 - 320, 720 - 40, 60}, {1279, 719, 60}} {
		if got := lumaAt(dst, p.x, p.y); got != p.want {
			t.Errorf("pip: luma %d at (%d,%d), want %d", got, p.x, p.y, p.want)
		}
	}

	// Side by side: the frames drawn for the old areas are scaled into the
	// new ones until the inputs draw at the new size; black above and below.
	s.SetOptions(Options{Layout: SideBySide, Corner: BottomRight, Size: 25})
	for round := range 2 {
		s.Compose(dst, now)
		for _, p := range []struct {
			x, y int
			want uint8
		}{{320, 360, 60}, {960, 360, 200}, {640, 50, 16}, {640, 700, 16}} {
			if got := lumaAt(dst, p.x, p.y); got != p.want {
				t.Errorf("side by side, round %d: luma %d at (%d,%d), want %d", round, got, p.x, p.y, p.want)
			}
		}
		put()
	}
	if got := s.Input(0).Size(); got != image.Pt(640, 360) {
		t.Errorf("side by side: the first input draws at %v", got)
	}

	// Main and overlay show one input; the other is not drawn.
	s.SetOptions(Options{Layout: Main, Corner: BottomRight, Size: 25})
	filled := false
	if err := s.Input(1).Put(now, func(*image.YCbCr) error { filled = true; return nil }); err != nil || filled {
		t.Errorf("a hidden input was drawn (%v)", err)
	}
	put()
	if s.Compose(dst, now); lumaAt(dst, 1240, 680) != 60 {
		t.Errorf("main: luma %d in the corner", lumaAt(dst, 1240, 680))
	}
	s.SetOptions(Options{Layout: Overlay, Corner: BottomRight, Size: 25})
	put()
	if s.Compose(dst, now); lumaAt(dst, 10, 10) != 200 {
		t.Errorf("overlay: luma %d", lumaAt(dst, 10, 10))
	}
}

func TestPlaceholder(t *testing.T) {
	s := New(1280, 720, Options{PiP, BottomRight, 25}, [2]string{"Screen unavailable", "Camera disconnected"}, nil)
	dst := image.NewYCbCr(image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio420)
	now := time.Now()
	_ = s.Input(0).Put(now, solid(60))
	// before its first frame an input is black, not "disconnected"
	s.Compose(dst, now)
	if got := lumaAt(dst, 1240, 680); got != 16 {
		t.Errorf("an input that has not started shows luma %d", got)
	}
	s.Input(1).SetDown()
	if !s.Input(1).Down(now) {
		t.Error("a failed input is not down")
	}
	s.Compose(dst, now)
	corner := image.Rect(1280-32-320, 720-32-180, 1280-32, 720-32)
	text, bg := 0, 0
	for y := corner.Min.Y; y < corner.Max.Y; y++ {
		for x := corner.Min.X; x < corner.Max.X; x++ {
			switch lumaAt(dst, x, y) {
			case label:
				text++
			case slate.y:
				bg++
			default:
				t.Fatalf("luma %d at (%d,%d) in the placeholder", lumaAt(dst, x, y), x, y)
			}
		}
	}
	if text < 200 || bg < corner.Dx()*corner.Dy()/2 {
		t.Errorf("placeholder: %d text and %d background pixels", text, bg)
	}
	if got := lumaAt(dst, 10, 10); got != 60 {
		t.Errorf("the other input shows luma %d beside a placeholder", got)
	}
	// it delivers again: its picture is back
	_ = s.Input(1).Put(now, solid(200))
	if s.Compose(dst, now); lumaAt(dst, 1240, 680) != 200 || s.Input(1).Down(now) {
		t.Errorf("a returning input shows luma %d", lumaAt(dst, 1240, 680))
	}
	// one that stops delivering is down after Stale
	if !s.Input(1).Down(time.Now().Add(Stale + time.Second)) {
		t.Error("a silent input is not down")
	}
}

// BenchmarkCompose1080p composes a 1080p scene whose inputs deliver a
// frame each time, in picture-in-picture and side by side.
func BenchmarkCompose1080p(b *testing.B) {
	for _, l := range []Layout{PiP, SideBySide} {
		b.Run(string(l), func(b *testing.B) {
			s := New(1920, 1080, Options{l, BottomRight, 25}, [2]string{"a", "b"}, nil)
			dst := image.NewYCbCr(image.Rect(0, 0, 1920, 1080), image.YCbCrSubsampleRatio420)
			now := time.Now()
			_ = s.Input(0).Put(now, solid(60))
			_ = s.Input(1).Put(now, solid(200))
			b.ReportAllocs()
			for b.Loop() {
				s.Compose(dst, now)
			}
		})
	}
}

// A placeholder in Chinese, in the system's Chinese font (fonts-noto-cjk,
// which running Chalkcast on Linux installs).
func TestPlaceholderInChinese(t *testing.T) {
	b, err := os.ReadFile("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	coll, err := opentype.ParseCollection(b)
	if err != nil {
		t.Fatal(err)
	}
	f, err := coll.Font(0)
	if err != nil {
		t.Fatal(err)
	}
	s := New(1280, 720, Options{PiP, BottomRight, 25}, [2]string{"屏幕不可用", "摄像头已断开"}, f)
	s.Input(1).SetDown()
	dst := image.NewYCbCr(image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio420)
	s.Compose(dst, time.Now())
	corner := image.Rect(1280-32-320, 720-32-180, 1280-32, 720-32)
	text := image.Rectangle{}
	for y := corner.Min.Y; y < corner.Max.Y; y++ {
		for x := corner.Min.X; x < corner.Max.X; x++ {
			switch v := lumaAt(dst, x, y); {
			case v > slate.y+40:
				text = text.Union(image.Rect(x, y, x+1, y+1))
			case v < slate.y:
				t.Fatalf("luma %d at (%d,%d) in the placeholder", v, x, y)
			}
		}
	}
	// six characters a sixth of the area tall, in the middle
	if text.Dx() < 150 || text.Dx() > 300 || text.Dy() < 20 || text.Dy() > 60 {
		t.Errorf("the words cover %v", text)
	}
	if mid := text.Min.Add(text.Max).Div(2); mid.Sub(corner.Min.Add(corner.Max).Div(2)).X > 10 {
		t.Errorf("the words are not in the middle: %v in %v", text, corner)
	}
}
