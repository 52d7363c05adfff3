// Package monitor is what the teacher sees and hears of each live stream,
// decoded from the stream's own packets as students get them: a moving
// preview picture while someone looks, and a level meter with the "no
// sound" state at all times. Decoding runs on the engine's worker pool,
// one batch per stream at a time, and a monitor that falls behind drops
// its own work, never a viewer's packets. It must not import the GUI, a
// protocol or an output.
package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"log/slog"
	"slices"
	"sync"
	"time"

	"chalkcast/engine"
)

// Settings of the monitor.
const (
	// MaxWidth is the width of the largest preview pictures, those of
	// preview.jpg; a look asks for the width it shows.
	MaxWidth = 640
	// PictureEvery paces preview pictures (the decoder still decodes
	// every frame): 10 to 15 a second from 30 fps video.
	PictureEvery = time.Second / 15
	// Linger keeps a stream's decoder after the last look ends, so that
	// scrolling past a card or polling preview.jpg does not restart it.
	Linger = 3 * time.Second
	// QuietBelow and QuietFor define "no sound": a peak below QuietBelow
	// for QuietFor.
	QuietBelow = -50.0
	QuietFor   = 10 * time.Second
)

// Monitor watches every live stream of a hub.
type Monitor struct {
	hub *engine.Hub
	log *slog.Logger
	ctx context.Context

	mu      sync.Mutex
	streams map[string]*watch
	stopped bool           // Run has ended: nothing more starts
	wg      sync.WaitGroup // readers and their decoders
}

// watch is one stream's preview and meter.
type watch struct {
	m    *Monitor
	name string

	mu        sync.Mutex
	listening bool  // a goroutine measures the sound
	looks     []int // the width each look shows
	video     *preview
	linger    *time.Timer
	picture   *Picture
}

// Picture is one preview picture.
type Picture struct {
	Image *image.RGBA
	// Published is when the engine got the frame it shows: now minus
	// Published is how far the preview is behind the live stream.
	Published time.Time
	// For is the width the picture was made for (the widest look's); the
	// picture itself is no wider than the stream's video.
	For int
}

// New returns a monitor of hub's streams; Run starts it.
func New(hub *engine.Hub, log *slog.Logger) *Monitor {
	return &Monitor{hub: hub, log: log.With("component", "monitor"), streams: map[string]*watch{}}
}

// Run measures the sound of every live stream until ctx ends, and
// returns once every decoder is freed.
func (m *Monitor) Run(ctx context.Context) {
	m.mu.Lock()
	m.ctx = ctx
	m.mu.Unlock()
	m.hub.WatchLive(ctx, func(s *engine.Stream) { m.get(s.Name()).listen(ctx, s) })
	m.mu.Lock()
	m.stopped = true
	m.mu.Unlock()
	m.wg.Wait()
}

// spawn runs f in a goroutine unless Run has ended; f must call done
// once it has freed its decoder.
func (m *Monitor) spawn(f func(done func())) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx == nil || m.stopped {
		return false
	}
	m.wg.Add(1)
	go f(m.wg.Done)
	return true
}

func (m *Monitor) get(name string) *watch {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.streams[name]
	if w == nil {
		w = &watch{m: m, name: name}
		m.streams[name] = w
	}
	return w
}

// context is Run's context, or nil before Run.
func (m *Monitor) context() context.Context {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ctx
}

// Look says that somebody looks at the stream's picture, width pixels
// wide (its card is on screen, preview.jpg was asked for; 0 means
// MaxWidth); the preview decodes until the returned release is called (and
// Linger after), making pictures as wide as the widest look. Release is
// safe to call twice.
func (m *Monitor) Look(name string, width int) (release func()) {
	if width <= 0 || width > MaxWidth {
		width = MaxWidth
	}
	w := m.get(name)
	w.mu.Lock()
	w.looks = append(w.looks, width)
	if w.linger != nil {
		w.linger.Stop()
		w.linger = nil
	}
	w.startVideoLocked()
	w.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { w.unlook(width) }) }
}

func (w *watch) unlook(width int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := slices.Index(w.looks, width)
	w.looks = slices.Delete(w.looks, i, i+1)
	if len(w.looks) > 0 || w.video == nil {
		return
	}
	w.linger = time.AfterFunc(Linger, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(w.looks) == 0 && w.video != nil {
			w.video.stop()
			w.video = nil
			w.picture = nil
		}
	})
}

// width is what the widest look shows (MaxWidth while only lingering).
func (w *watch) width() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.looks) == 0 {
		return MaxWidth
	}
	return slices.Max(w.looks)
}

// startVideoLocked starts the preview of a live stream somebody looks at.
func (w *watch) startVideoLocked() {
	if w.video != nil && !w.video.ended() {
		return
	}
	w.video, w.picture = nil, nil
	ctx := w.m.context()
	s, ok := w.m.hub.Get(w.name)
	if ctx == nil || !ok {
		return
	}
	rd, err := s.NewReader(nil)
	if err != nil {
		return // not live: Picture and Snapshot say so
	}
	if w.video = startPreview(ctx, w, rd); w.video == nil {
		rd.Close()
	}
}

// Picture returns the stream's newest preview picture, or nil when there
// is none (nobody looks, the stream is not live, no frame decoded yet).
// The picture is never modified afterwards.
func (m *Monitor) Picture(name string) *Picture {
	w := m.get(name)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.looks) > 0 {
		w.startVideoLocked() // the stream may have gone live again
	}
	if w.video == nil {
		return nil
	}
	if s, ok := m.hub.Get(name); !ok || !s.State().Active() {
		return nil
	}
	return w.picture
}

func (w *watch) setPicture(p *Picture) {
	w.mu.Lock()
	w.picture = p
	w.mu.Unlock()
}

// ErrNoPicture is returned by Snapshot when a live stream gave no picture
// in time (no video track, or an undecodable one).
var ErrNoPicture = errors.New("no picture yet")

// Snapshot returns the newest picture of a live stream as a JPEG, looking
// at it for up to wait when no picture is ready. It fails with an error
// wrapping engine.ErrNotFound or engine.ErrNotLive when there is nothing
// to show.
func (m *Monitor) Snapshot(ctx context.Context, name string, wait time.Duration) ([]byte, error) {
	s, ok := m.hub.Get(name)
	if !ok {
		return nil, fmt.Errorf("stream %s: %w", name, engine.ErrNotFound)
	}
	if !s.State().Active() {
		return nil, fmt.Errorf("stream %s: %w", name, engine.ErrNotLive)
	}
	release := m.Look(name, MaxWidth)
	defer release()
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if p := m.Picture(name); p != nil && p.For == MaxWidth {
			var b bytes.Buffer
			if err := jpeg.Encode(&b, p.Image, &jpeg.Options{Quality: 80}); err != nil {
				return nil, fmt.Errorf("preview of %s: %w", name, err)
			}
			return b.Bytes(), nil
		}
		select {
		case <-ctx.Done():
			if !s.State().Active() {
				return nil, fmt.Errorf("stream %s: %w", name, engine.ErrNotLive)
			}
			return nil, fmt.Errorf("stream %s: %w", name, ErrNoPicture)
		case <-t.C:
		}
	}
}
