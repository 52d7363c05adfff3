// Package scene is the source kind that composes two video inputs into
// one picture before encoding: the slides with the teacher's face in a
// corner, side by side, or one of them alone, switched live. Its inputs
// are ordinary sources: a kind that can capture into a sink (camera,
// screen, test pattern) draws straight into its area; any other (an IP
// camera, a pulled stream) runs into a detached stream that is decoded,
// as is a stream of the hub (a push). An input that fails shows a
// placeholder and is retried while the rest goes on. Like every source it
// only publishes into the engine: it must not import another source, an
// output or the GUI; main hands it the kinds it may use.
package scene

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"golang.org/x/image/font/opentype"

	"chalkcast/engine"
	"chalkcast/media/composite"
	"chalkcast/media/encode"
)

// Type is the source type of a scene in the API.
const Type = "scene"

// StreamInput is the type of an input that is another stream of the hub
// (a push from OBS or a phone), named by its "stream" option.
const StreamInput = "stream"

// Options of a scene, besides composite's layout options and the encoding
// options of encode.ParseSettings (preset, fps, bitrate, audio_rate,
// audio_channels):
//
//	audio  which input's sound the scene carries: "1", "2" or "none";
//	       by default the first input Chalkcast records sound from (a
//	       camera or screen with its microphone, the test pattern's tone).
//	       An IP camera's or a stream's sound is carried when named.
const optAudio = "audio"

// Kind runs scenes.
type Kind struct {
	hub    *engine.Hub
	kinds  map[string]engine.SourceKind
	labels Labels
	font   *opentype.Font
	log    *slog.Logger
}

// Labels are what an input's area says while the input is down, in the
// studio's language: Text by kind of input ("camera", "screen", "video";
// English for one missing), in Font (an OpenType font; the built-in
// Latin one when empty).
type Labels struct {
	Text map[string]string
	Font []byte
}

// New returns the scene kind; kinds are the kinds its inputs may be of.
// A nil log discards.
func New(hub *engine.Hub, kinds map[string]engine.SourceKind, labels Labels, log *slog.Logger) *Kind {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	k := &Kind{hub: hub, kinds: maps.Clone(kinds), labels: labels, log: log.With("component", "scene")}
	if len(labels.Font) > 0 {
		f, err := opentype.Parse(labels.Font)
		if err != nil {
			k.log.Warn("the placeholders' font cannot be read: they speak English", "err", err)
			k.labels.Text = nil
		}
		k.font = f
	}
	return k
}

// scene is a scene's configuration, read from its source.
type scene struct {
	set    encode.Settings
	layout composite.Options
	audio  int       // the input whose sound is carried, -1 for none
	inputs [2]string // the inputs' types
}

func (k *Kind) parse(src engine.Source) (scene, error) {
	var sc scene
	var err error
	if sc.set, err = encode.ParseSettings(src.Options); err != nil {
		return sc, err
	}
	if sc.layout, err = composite.ParseOptions(src.Options); err != nil {
		return sc, err
	}
	if len(src.Inputs) != 2 {
		return sc, fmt.Errorf("%w: a scene has two inputs (the main picture first), not %d", engine.ErrInvalid, len(src.Inputs))
	}
	for i, in := range src.Inputs {
		if err := k.checkInput(in); err != nil {
			return sc, fmt.Errorf("input %d: %w", i+1, err)
		}
	}
	switch a := src.Options[optAudio]; a {
	case "": // the first input Chalkcast records sound from
		sc.audio = slices.IndexFunc(src.Inputs, k.records)
	case "1", "2":
		sc.audio = int(a[0] - '1')
		if _, capt := k.kinds[src.Inputs[sc.audio].Type].(encode.Capturer); capt && !k.records(src.Inputs[sc.audio]) {
			sc.audio = -1 // its microphone is off
		}
	case "none":
		sc.audio = -1
	default:
		return sc, fmt.Errorf("%w: audio %q: use 1, 2 or none", engine.ErrInvalid, a)
	}
	sc.set.Video.Screen = src.Inputs[0].Type == "screen"
	sc.inputs = [2]string{src.Inputs[0].Type, src.Inputs[1].Type}
	return sc, nil
}

// face is the input whose frames' age a composed frame's timestamp
// follows: the camera on show, whose lips must move with the sound, or
// else the input whose sound is carried; -1 when neither shows.
func (sc scene) face(lo composite.Options) int {
	areas := lo.Areas(sc.set.Video.Width, sc.set.Video.Height)
	for i, t := range sc.inputs {
		if (t == "camera" || t == "rtsp") && !areas[i].Empty() {
			return i
		}
	}
	if sc.audio >= 0 && !areas[sc.audio].Empty() {
		return sc.audio
	}
	return -1
}

// Check validates a scene: its options, and its two inputs with their
// own kinds' checks.
func (k *Kind) Check(src engine.Source) error {
	_, err := k.parse(src)
	return err
}

func (k *Kind) checkInput(in engine.Source) error {
	if len(in.Inputs) != 0 || in.Type == Type {
		return fmt.Errorf("%w: a scene's input cannot be a scene", engine.ErrInvalid)
	}
	if in.Type == StreamInput {
		return engine.ValidateName(in.Options[StreamInput])
	}
	kind, ok := k.kinds[in.Type]
	if !ok {
		return fmt.Errorf("%w: source type %q cannot be a scene's input", engine.ErrInvalid, in.Type)
	}
	return kind.Check(in)
}

// records reports whether an input is one Chalkcast captures with sound:
// a camera or screen with its microphone, the test pattern's tone.
func (k *Kind) records(in engine.Source) bool {
	_, capt := k.kinds[in.Type].(encode.Capturer)
	return capt && in.Options["microphone"] != "none"
}

// Retunes reports whether a running scene follows the change itself: the
// same inputs, other layout options.
func (k *Kind) Retunes(old, src engine.Source) bool {
	if !reflect.DeepEqual(old.Inputs, src.Inputs) {
		return false
	}
	strip := func(o map[string]string) map[string]string {
		o = maps.Clone(o)
		for _, k := range []string{composite.OptLayout, composite.OptCorner, composite.OptSize} {
			delete(o, k)
		}
		return o
	}
	return maps.Equal(strip(old.Options), strip(src.Options))
}

// label is what input src's area says while it is down.
func (k *Kind) label(src engine.Source) string {
	what := "video"
	switch src.Type {
	case "camera", "rtsp":
		what = "camera"
	case "screen":
		what = "screen"
	}
	if t := k.labels.Text[what]; t != "" {
		return t
	}
	switch what {
	case "camera":
		return "Camera disconnected"
	case "screen":
		return "Screen unavailable"
	}
	return "Video unavailable"
}

// Run composes the scene into s until ctx ends. Its inputs run on their
// own and are retried when they fail; the scene goes on meanwhile.
func (k *Kind) Run(ctx context.Context, s *engine.Stream) error {
	src := s.Config().Source
	sc, err := k.parse(src)
	if err != nil {
		return err
	}
	v := sc.set.Video
	comp := composite.New(v.Width, v.Height, sc.layout, [2]string{k.label(src.Inputs[0]), k.label(src.Inputs[1])}, k.font)
	info := engine.SourceInfo{Protocol: Type}
	return encode.Publish(ctx, k.hub.Pool(), s, info, sc.set, sc.audio >= 0, func(p *encode.Pipeline) error {
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for i, in := range src.Inputs {
			sink := &inputSink{in: comp.Input(i), start: p.Start(), rate: sc.set.Audio.SampleRate, channels: sc.set.Audio.Channels}
			if i == sc.audio {
				sink.audio = p
			}
			if _, ok := k.kinds[in.Type].(encode.Capturer); ok {
				in = captureSource(in, sc.set, i == sc.audio)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				k.keepInput(ctx, s.Name(), i, in, sink)
			}()
		}
		err := compose(ctx, s, comp, p, sc)
		cancel()
		wg.Wait()
		return err
	})
}

// captureSource is the source a capturing input runs as: at the scene's
// preset unless it names its own, with the scene's audio settings if its
// sound is carried and without a microphone otherwise.
func captureSource(in engine.Source, set encode.Settings, audio bool) engine.Source {
	opts := maps.Clone(in.Options)
	if opts == nil {
		opts = map[string]string{}
	}
	if opts["preset"] == "" {
		opts["preset"] = set.Preset
	}
	if audio {
		opts["audio_rate"] = fmt.Sprint(set.Audio.SampleRate)
		opts["audio_channels"] = fmt.Sprint(set.Audio.Channels)
	} else {
		opts["microphone"] = "none"
	}
	in.Options = opts
	return in
}

// compose draws the scene at its frame rate and follows layout changes
// of the stream's source. A frame is stamped with the tick minus the
// smoothed age of the face's frames (see face), so that lips move with
// the voice.
func compose(ctx context.Context, s *engine.Stream, comp *composite.Scene, p *encode.Pipeline, sc scene) error {
	every := time.Second / time.Duration(sc.set.Video.FPS)
	t := time.NewTicker(every)
	defer t.Stop()
	opts := s.Config().Source.Options
	var age time.Duration
	last := p.Start()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if now := s.Config().Source.Options; !maps.Equal(now, opts) {
			opts = now
			if lo, err := composite.ParseOptions(opts); err == nil {
				comp.SetOptions(lo)
			}
		}
		now := time.Now()
		if ref := sc.face(comp.Options()); ref >= 0 {
			if at := comp.Input(ref).At(); !at.IsZero() && now.Sub(at) < composite.Stale {
				age += (now.Sub(at) - age) / 16
			}
		}
		captured := now.Add(-age)
		if !captured.After(last) {
			captured = last.Add(time.Millisecond)
		}
		last = captured
		err := p.Video(captured, func(dst *image.YCbCr) error {
			comp.Compose(dst, now)
			return nil
		})
		if err != nil {
			return err
		}
	}
}
