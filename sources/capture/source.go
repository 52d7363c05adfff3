package capture

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"sync"
	"time"

	"github.com/pion/mediadevices/pkg/driver"
	_ "github.com/pion/mediadevices/pkg/driver/microphone" // registers the system's microphones
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"

	"chalkcast/engine"
	sound "chalkcast/media/audio"
	"chalkcast/media/encode"
)

// Source types in the API.
const (
	TypeCamera = "camera" // a camera and a microphone
	TypeScreen = "screen" // the screen and a microphone
)

// Source options, besides the encoding options of encode.ParseSettings:
//
//	camera      camera ID from /api/v1/devices (default: the default camera)
//	screen      screen ID (default: the first screen)
//	microphone  microphone ID, or "none" for no sound (default: the default
//	            microphone; a machine without one streams video only)
const (
	optMicrophone = "microphone"
	noMicrophone  = "none"
)

// screenFPS is a screen's default frame rate: slides need no more, and it
// halves the cost of capturing a large screen.
const screenFPS = 15

// Kinds returns the camera and screen source kinds.
func (m *Manager) Kinds(pool *engine.Pool) map[string]engine.SourceKind {
	return map[string]engine.SourceKind{
		TypeCamera: &kind{m: m, pool: pool, video: driver.Camera},
		TypeScreen: &kind{m: m, pool: pool, video: driver.Screen},
	}
}

type kind struct {
	m     *Manager
	pool  *engine.Pool
	video driver.DeviceType
}

func (k *kind) settings(src engine.Source) (encode.Settings, error) {
	set, err := encode.ParseSettings(src.Options)
	if err != nil {
		return set, err
	}
	if k.video == driver.Screen {
		set.Video.Screen = true
		if src.Options["fps"] == "" {
			set.Video.FPS = screenFPS
		}
	}
	return set, nil
}

// Check validates the options; devices are looked up when the stream
// starts, so a stream can be set up before its camera is plugged in.
func (k *kind) Check(src engine.Source) error {
	_, err := k.settings(src)
	return err
}

// Run captures until ctx ends or a device fails (unplugged, taken by
// another program); the supervisor then retries, so the stream comes back
// by itself when the device does.
func (k *kind) Run(ctx context.Context, s *engine.Stream) error {
	src := s.Config().Source
	c, err := k.start(src, src.Options[optMicrophone] != noMicrophone)
	if err != nil {
		return err
	}
	defer c.close()
	info := engine.SourceInfo{Protocol: string(k.video)}
	return encode.Publish(ctx, k.pool, s, info, c.set, c.ar != nil, func(p *encode.Pipeline) error {
		switch { // the card and the API say why there is no sound
		case c.busy:
			s.SetSilent(sound.ReasonMicrophoneInUse)
		case c.ar == nil && c.wantAudio:
			s.SetSilent(sound.ReasonNoMicrophone)
		}
		return c.run(ctx, p)
	})
}

// Capture runs src into sink (a scene's input) until ctx ends or a device
// fails; with audio false no microphone is opened.
func (k *kind) Capture(ctx context.Context, src engine.Source, sink encode.Sink, audio bool) error {
	c, err := k.start(src, audio && src.Options[optMicrophone] != noMicrophone)
	if err != nil {
		return err
	}
	defer c.close()
	return c.run(ctx, sink)
}

// capturing is a camera or screen and perhaps a microphone, open and
// recording.
type capturing struct {
	set        encode.Settings
	vd         driver.Driver
	vr         video.Reader
	vdev, adev *openDevice
	ar         audio.Reader
	wantAudio  bool
	busy       bool // the default microphone is another stream's: video only
}

// start opens the source's devices; with wantAudio its microphone too.
func (k *kind) start(src engine.Source, wantAudio bool) (_ *capturing, err error) {
	c := &capturing{wantAudio: wantAudio}
	if c.set, err = k.settings(src); err != nil {
		return nil, err
	}
	k.m.rescanIfChanged()
	if c.vd, err = find(k.video, src.Options[noun(k.video)]); err != nil {
		return nil, err
	}
	if c.vdev, err = k.open(c.vd); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	if c.vr, err = c.vd.(driver.VideoRecorder).VideoRecord(pickVideo(c.vd.Properties(), c.set.Video)); err != nil {
		return nil, fmt.Errorf("%s %q: start capturing: %w", noun(k.video), displayName(c.vd.Info()), err)
	}
	if !wantAudio {
		return c, nil
	}
	mic := src.Options[optMicrophone]
	md, err := find(driver.Microphone, mic)
	var none *noDeviceError
	switch {
	case errors.As(err, &none) && mic == "":
		return c, nil // no microphone at all: video only
	case err != nil:
		return nil, err
	}
	if c.adev, err = k.open(md); err != nil {
		if mic == "" && k.m.held(md.Info()) {
			c.busy = true
			return c, nil
		}
		return nil, err
	}
	c.ar, err = md.(driver.AudioRecorder).AudioRecord(prop.Media{Audio: prop.Audio{
		ChannelCount: c.set.Audio.Channels, SampleRate: c.set.Audio.SampleRate,
		SampleSize: 2, IsInterleaved: true, Latency: 20 * time.Millisecond,
	}})
	if err != nil {
		return nil, fmt.Errorf("microphone %q: start recording: %w", displayName(md.Info()), err)
	}
	return c, nil
}

// close lets go of the devices; it may be called twice.
func (c *capturing) close() {
	if c.vdev != nil {
		c.vdev.close()
	}
	if c.adev != nil {
		c.adev.close()
	}
}

// run captures into sink until ctx ends or a device fails.
func (c *capturing) run(ctx context.Context, sink encode.Sink) error {
	errc := make(chan error, 2)
	stop := make(chan struct{})
	n := 1
	go func() { errc <- captureVideo(sink, c.vr, c.vd.Info(), stop) }()
	if c.ar != nil {
		n++
		go func() { errc <- captureAudio(sink, c.ar, c.set.Audio, stop) }()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		n--
	}
	// The loops stop after their next frame or chunk. Only then are the
	// devices closed: the X11 screen's reader never returns once its
	// device is closed (it stops its clock). A device that hangs is closed
	// after a second anyway, and its loop left behind: a frame it delivers
	// later is refused by the closed pipeline.
	close(stop)
	wait := func(d time.Duration) {
		t := time.NewTimer(d)
		defer t.Stop()
		for ; n > 0; n-- {
			select {
			case <-errc:
			case <-t.C:
				return
			}
		}
	}
	wait(time.Second)
	c.close()
	wait(time.Second)
	return err
}

// openDevice is a device a stream holds; close is safe to call twice.
type openDevice struct {
	once  sync.Once
	close func()
}

func (k *kind) open(d driver.Driver) (*openDevice, error) {
	info := d.Info()
	if err := k.m.hold(info.DeviceType, info.Label); err != nil {
		return nil, err
	}
	if err := d.Open(); err != nil {
		k.m.release(info.DeviceType, info.Label)
		return nil, fmt.Errorf("%s %q cannot be opened (unplugged, or used by another program?): %w", noun(info.DeviceType), displayName(info), err)
	}
	o := &openDevice{}
	o.close = func() {
		o.once.Do(func() {
			_ = d.Close()
			k.m.release(info.DeviceType, info.Label)
		})
	}
	return o, nil
}

// pickVideo chooses the capture format closest to the stream's size and
// frame rate: the smallest size at least as large as the stream (so
// nothing is scaled up), at a frame rate of at least the stream's if there
// is one; the camera's largest size otherwise.
func pickVideo(ps []prop.Media, v encode.VideoSettings) prop.Media {
	want := prop.Media{Video: prop.Video{Width: v.Width, Height: v.Height, FrameRate: float32(v.FPS)}}
	best, bestScore := want, math.Inf(1)
	for _, p := range ps {
		if p.Width == 0 || p.Height == 0 {
			continue
		}
		score := 0.0
		if p.Width < v.Width || p.Height < v.Height {
			score += 1e6 - float64(p.Width*p.Height)/1e3 // too small: prefer the largest
		} else {
			score += float64(p.Width*p.Height-v.Width*v.Height) / 1e3
		}
		if p.FrameRate > 0 && p.FrameRate < float32(v.FPS) {
			score += 1e5
		}
		if p.FrameFormat == "MJPEG" {
			score += 10 // decoding JPEG costs more than raw formats
		}
		if score < bestScore {
			best, bestScore = p, score
			if best.FrameRate == 0 || best.FrameRate > float32(v.FPS) {
				best.FrameRate = float32(v.FPS)
			}
		}
	}
	return best
}

// captureVideo reads frames until the device fails or is closed; each is
// stamped with when it arrived and offered to the pipeline.
func captureVideo(p encode.Sink, r video.Reader, info driver.Info, stop <-chan struct{}) error {
	for {
		img, release, err := r.Read()
		if stopped(stop) {
			if err == nil {
				release()
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s %q stopped (unplugged?): %w", noun(info.DeviceType), displayName(info), err)
		}
		at := time.Now()
		err = p.Video(at, func(dst *image.YCbCr) error { return encode.Fit(dst, img) })
		release()
		if err != nil {
			return err
		}
	}
}

// captureAudio reads chunks until the device fails or is closed. A chunk
// arrives when its last sample was recorded, so its first sample was
// captured one chunk earlier.
func captureAudio(p encode.Sink, r audio.Reader, set encode.AudioSettings, stop <-chan struct{}) error {
	var pcm []int16
	var start time.Time
	var samples int64
	for {
		chunk, release, err := r.Read()
		if stopped(stop) {
			if err == nil {
				release()
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("microphone stopped (unplugged?): %w", err)
		}
		at := time.Now()
		ci := chunk.ChunkInfo()
		if ci.Channels != set.Channels || ci.SamplingRate != set.SampleRate {
			release()
			return fmt.Errorf("microphone gave %d channels at %d Hz, %d at %d Hz were asked for",
				ci.Channels, ci.SamplingRate, set.Channels, set.SampleRate)
		}
		pcm = toInt16(pcm[:0], chunk)
		release()
		first := at.Add(-time.Duration(ci.Len) * time.Second / time.Duration(set.SampleRate))
		if start.IsZero() {
			start = first
		}
		samples += int64(ci.Len)
		if ahead := time.Duration(samples)*time.Second/time.Duration(set.SampleRate) - at.Sub(start); ahead > 2*time.Second {
			return fmt.Errorf("microphone delivers sound faster than real time (%v ahead): it is not a real microphone", ahead.Round(time.Millisecond))
		}
		if err := p.Audio(first, pcm); err != nil {
			return err
		}
	}
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// toInt16 appends the chunk's samples, interleaved, as 16-bit integers.
func toInt16(dst []int16, a wave.Audio) []int16 {
	switch a := a.(type) {
	case *wave.Int16Interleaved:
		return append(dst, a.Data...)
	case *wave.Float32Interleaved:
		for _, v := range a.Data {
			dst = append(dst, int16(math.Max(-1, math.Min(1, float64(v)))*32767))
		}
		return dst
	}
	ci := a.ChunkInfo()
	for i := 0; i < ci.Len; i++ {
		for ch := 0; ch < ci.Channels; ch++ {
			dst = append(dst, int16(wave.Int16SampleFormat.Convert(a.At(i, ch)).Int()>>16))
		}
	}
	return dst
}
