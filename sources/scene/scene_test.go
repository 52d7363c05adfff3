package scene

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"chalkcast/engine"
	"chalkcast/media/encode"
)

// capturer stands for the camera kind in checks: it captures into sinks
// and takes a "camera" option.
type capturer struct{}

func (capturer) Check(src engine.Source) error {
	if src.Options["camera"] == "broken" {
		return engine.ErrInvalid
	}
	return nil
}
func (capturer) Run(context.Context, *engine.Stream) error { return nil }
func (capturer) Capture(context.Context, engine.Source, encode.Sink, bool) error {
	return nil
}

// publisher stands for the IP camera kind: it only publishes packets.
type publisher struct{}

func (publisher) Check(engine.Source) error                 { return nil }
func (publisher) Run(context.Context, *engine.Stream) error { return nil }

func newKind(t *testing.T) *Kind {
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Close)
	return New(hub, map[string]engine.SourceKind{"camera": capturer{}, "screen": capturer{}, "rtsp": publisher{}}, Labels{}, slog.New(slog.DiscardHandler))
}

func TestCheck(t *testing.T) {
	k := newKind(t)
	screen := engine.Source{Type: "screen"}
	cam := engine.Source{Type: "camera"}
	ipcam := engine.Source{Type: "rtsp", URL: "rtsp://192.0.2.1/"}
	scene := func(opts map[string]string, in ...engine.Source) engine.Source {
		return engine.Source{Type: Type, Options: opts, Inputs: in}
	}
	for _, c := range []struct {
		name    string
		src     engine.Source
		mention string // "" for a valid scene
	}{
		{"screen and camera", scene(nil, screen, cam), ""},
		{"screen and IP camera", scene(map[string]string{"layout": "side-by-side"}, screen, ipcam), ""},
		{"a pushed stream in the corner", scene(map[string]string{"audio": "1"}, screen, engine.Source{Type: StreamInput, Options: map[string]string{"stream": "phone"}}), ""},
		{"silent", scene(map[string]string{"audio": "none"}, ipcam, ipcam), ""},
		{"one input", scene(nil, screen), "two inputs"},
		{"three inputs", scene(nil, screen, cam, cam), "two inputs"},
		{"a scene in a scene", scene(nil, screen, scene(nil, screen, cam)), "cannot be a scene"},
		{"unknown input", scene(nil, screen, engine.Source{Type: "carrier-pigeon"}), "carrier-pigeon"},
		{"a push", scene(nil, screen, engine.Source{Type: engine.PushSource}), "rtmp"},
		{"an input its kind refuses", scene(nil, screen, engine.Source{Type: "camera", Options: map[string]string{"camera": "broken"}}), "input 2"},
		{"a bad stream name", scene(nil, screen, engine.Source{Type: StreamInput, Options: map[string]string{"stream": "../x"}}), "stream name"},
		{"the sound of an IP camera", scene(map[string]string{"audio": "2"}, screen, ipcam), ""},
		{"the sound of a stream", scene(map[string]string{"audio": "2"}, screen, engine.Source{Type: StreamInput, Options: map[string]string{"stream": "phone"}}), ""},
		{"bad audio", scene(map[string]string{"audio": "3"}, screen, cam), "audio"},
		{"bad layout", scene(map[string]string{"layout": "grid"}, screen, cam), "layout"},
		{"bad preset", scene(map[string]string{"preset": "4k"}, screen, cam), "preset"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := k.Check(c.src)
			switch {
			case c.mention == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.mention != "" && (!errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), c.mention)):
				t.Errorf("error %v, want an invalid one mentioning %q", err, c.mention)
			}
		})
	}
}

// The sound a scene carries: by default the first input Chalkcast
// records; a named one, unless its microphone is off.
func TestSceneSound(t *testing.T) {
	k := newKind(t)
	mic := engine.Source{Type: "camera"}
	silent := engine.Source{Type: "screen", Options: map[string]string{"microphone": "none"}}
	ipcam := engine.Source{Type: "rtsp", URL: "rtsp://192.0.2.1/"}
	for _, c := range []struct {
		audio  string
		inputs []engine.Source
		want   int
	}{
		{"", []engine.Source{silent, mic}, 1},
		{"", []engine.Source{mic, silent}, 0},
		{"", []engine.Source{ipcam, silent}, -1}, // an IP camera may have no sound: only when named
		{"1", []engine.Source{ipcam, silent}, 0},
		{"2", []engine.Source{mic, silent}, -1},
		{"none", []engine.Source{mic, mic}, -1},
	} {
		sc, err := k.parse(engine.Source{Type: Type, Options: map[string]string{"audio": c.audio}, Inputs: c.inputs})
		if err != nil || sc.audio != c.want {
			t.Errorf("audio %q of %v: input %d (%v), want %d", c.audio, c.inputs, sc.audio, err, c.want)
		}
	}
}

func TestRetunes(t *testing.T) {
	k := newKind(t)
	in := []engine.Source{{Type: "screen"}, {Type: "camera"}}
	a := engine.Source{Type: Type, Options: map[string]string{"layout": "pip", "preset": "720p"}, Inputs: in}
	for _, c := range []struct {
		opts map[string]string
		in   []engine.Source
		want bool
	}{
		{map[string]string{"layout": "main", "corner": "top-left", "size": "40", "preset": "720p"}, in, true},
		{map[string]string{"preset": "720p"}, in, true},
		{map[string]string{"layout": "pip", "preset": "1080p"}, in, false},
		{map[string]string{"layout": "pip", "preset": "720p"}, []engine.Source{{Type: "screen"}, {Type: "camera", Options: map[string]string{"camera": "b"}}}, false},
	} {
		b := engine.Source{Type: Type, Options: c.opts, Inputs: c.in}
		if got := k.Retunes(a, b); got != c.want {
			t.Errorf("%v %v: retunes %v", c.opts, c.in, got)
		}
	}
}

func TestCaptureSource(t *testing.T) {
	set, err := encode.ParseSettings(map[string]string{"preset": "1080p", "audio_rate": "44100", "audio_channels": "2"})
	if err != nil {
		t.Fatal(err)
	}
	cam := engine.Source{Type: "camera", Options: map[string]string{"camera": "c", "microphone": "m"}}
	got := captureSource(cam, set, true)
	if o := got.Options; o["preset"] != "1080p" || o["audio_rate"] != "44100" || o["audio_channels"] != "2" || o["microphone"] != "m" {
		t.Errorf("the input whose sound is carried: %v", o)
	}
	if cam.Options["preset"] != "" {
		t.Error("the scene's configuration was changed")
	}
	got = captureSource(engine.Source{Type: "screen", Options: map[string]string{"preset": "480p"}}, set, false)
	if o := got.Options; o["preset"] != "480p" || o["microphone"] != "none" {
		t.Errorf("a silent input: %v", o)
	}
}

func TestFace(t *testing.T) {
	k := newKind(t)
	for _, c := range []struct {
		inputs [2]string
		audio  string
		layout string
		want   int
	}{
		{[2]string{"screen", "camera"}, "1", "pip", 1},        // the face in the corner, the voice from the screen's microphone
		{[2]string{"screen", "camera"}, "1", "main", 0},       // no face on show: the input whose sound plays
		{[2]string{"screen", "camera"}, "none", "main", -1},   // neither
		{[2]string{"rtsp", "screen"}, "2", "side-by-side", 0}, // an IP camera is a face too
		{[2]string{"screen", "screen"}, "2", "overlay", 1},    // the sound's input
		{[2]string{"screen", "screen"}, "1", "overlay", -1},   // whose sound's input does not show
	} {
		src := engine.Source{Type: Type, Options: map[string]string{"audio": c.audio, "layout": c.layout},
			Inputs: []engine.Source{{Type: c.inputs[0]}, {Type: c.inputs[1]}}}
		if c.inputs[0] == "rtsp" {
			src.Inputs[0].URL = "rtsp://192.0.2.1/"
		}
		sc, err := k.parse(src)
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		if got := sc.face(sc.layout); got != c.want {
			t.Errorf("%v: face %d, want %d", c, got, c.want)
		}
	}
}
