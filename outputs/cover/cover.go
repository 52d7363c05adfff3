// Package cover keeps each stream's cover picture, which the share page
// shows before the class starts and after it ends: a picture the teacher
// picks, or else the stream's last frame, taken every minute while it is
// live. Both are kept as JPEG files in one folder, so that they outlive a
// restart. It serves its own endpoints (Routes) and its part of a
// stream's view; it must not import another output, a source or the GUI.
package cover

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // the teacher's pictures may be PNG too
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/httpapi"
)

// Limits on a picture the teacher gives: its bytes and pixels, checked
// before it is decoded, and the largest cover kept (it is scaled down to
// fit, its shape kept).
const (
	MaxBytes  = 16 << 20
	MaxPixels = 50_000_000
	maxWidth  = 1280
	maxHeight = 720
)

// Config configures the covers.
type Config struct {
	// Dir holds the pictures: <name>.jpg the teacher's, <name>.last.jpg
	// the last frame.
	Dir string
	// Snapshot, if set, is a live stream's newest picture as a JPEG,
	// waiting up to wait for one (media/monitor's Snapshot).
	Snapshot func(ctx context.Context, name string, wait time.Duration) ([]byte, error)
	// Every is how often the last frame is taken while a stream is live;
	// the first is taken FirstAfter after it goes live. Defaults 1 min
	// and 5 s.
	Every, FirstAfter time.Duration
}

// Covers keeps the hub's streams' covers.
type Covers struct {
	hub    *engine.Hub
	cfg    Config
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex // held while a picture is written or removed
	taken    map[string]time.Time
	decoding sync.Mutex // held while a teacher's picture is decoded
}

// ErrPicture: what the teacher gave is not a picture Chalkcast can use.
var ErrPicture = fmt.Errorf("%w: the cover must be a JPEG or PNG picture", engine.ErrInvalid)

// New starts taking the last frames of live streams.
func New(hub *engine.Hub, cfg Config, log *slog.Logger) (*Covers, error) {
	if cfg.Every <= 0 {
		cfg.Every = time.Minute
	}
	if cfg.FirstAfter <= 0 {
		cfg.FirstAfter = 5 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("cover: folder: %w", err)
	}
	c := &Covers{hub: hub, cfg: cfg, log: log.With("component", "cover"), taken: map[string]time.Time{}}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.run(ctx)
	}()
	return c, nil
}

// Close stops taking pictures.
func (c *Covers) Close() {
	c.cancel()
	c.wg.Wait()
}

// run takes the live streams' last frames as they come due and forgets
// the covers of deleted streams.
func (c *Covers) run(ctx context.Context) {
	sub := c.hub.Subscribe(64)
	defer sub.Close()
	tick := time.NewTicker(min(c.cfg.FirstAfter, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-sub.C:
			if !ok {
				return
			}
			if e.Kind == engine.EventStreamDeleted {
				c.forget(e.Stream)
			}
		case now := <-tick.C:
			for _, s := range c.hub.Streams() {
				if c.due(s, now) {
					c.take(ctx, s.Name())
				}
			}
		}
	}
}

// due reports whether a stream's last frame is to be taken now.
func (c *Covers) due(s *engine.Stream, now time.Time) bool {
	if c.cfg.Snapshot == nil || !s.State().Active() {
		return false
	}
	st := s.Stats(engine.StatsOptions{})
	if st.LiveSince == nil || now.Sub(*st.LiveSince) < c.cfg.FirstAfter || st.Video == nil {
		return false
	}
	c.mu.Lock()
	last, ok := c.taken[s.Name()]
	c.mu.Unlock()
	return !ok || now.Sub(last) >= c.cfg.Every || last.Before(*st.LiveSince)
}

// take keeps stream name's newest picture as its last frame.
func (c *Covers) take(ctx context.Context, name string) {
	c.mu.Lock()
	c.taken[name] = time.Now()
	c.mu.Unlock()
	jpg, err := c.cfg.Snapshot(ctx, name, 5*time.Second)
	if err != nil {
		c.log.Debug("no last frame", "stream", name, "err", err)
		return
	}
	if err := c.write(name+".last.jpg", jpg); err != nil {
		c.log.Warn("last frame not kept", "stream", name, "err", err)
	}
}

// Set makes picture (JPEG or PNG bytes) stream name's cover, scaled to
// fit 1280×720.
func (c *Covers) Set(name string, picture []byte) error {
	if _, ok := c.hub.Get(name); !ok {
		return fmt.Errorf("stream %s: %w", name, engine.ErrNotFound)
	}
	if len(picture) > MaxBytes {
		return fmt.Errorf("%w: the cover picture has more than %d MB", engine.ErrInvalid, MaxBytes>>20)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(picture))
	if err != nil {
		return ErrPicture
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxPixels {
		return fmt.Errorf("%w: the cover picture has %d×%d pixels, more than %d million", engine.ErrInvalid, cfg.Width, cfg.Height, MaxPixels/1_000_000)
	}
	c.decoding.Lock() // one picture in memory at a time: up to 200 MB decoded
	defer c.decoding.Unlock()
	img, _, err := image.Decode(bytes.NewReader(picture))
	if err != nil {
		return ErrPicture
	}
	w, h := cfg.Width, cfg.Height
	if w > maxWidth || h > maxHeight {
		if w*maxHeight > h*maxWidth {
			w, h = maxWidth, h*maxWidth/w
		} else {
			w, h = w*maxHeight/h, maxHeight
		}
	}
	dst := scaled(img, max(1, w), max(1, h))
	var b bytes.Buffer
	if err := jpeg.Encode(&b, dst, &jpeg.Options{Quality: 85}); err != nil {
		return fmt.Errorf("cover: %w", err)
	}
	if err := c.write(name+".jpg", b.Bytes()); err != nil {
		return err
	}
	c.log.Info("cover picture set", "stream", name, "width", dst.Rect.Dx(), "height", dst.Rect.Dy())
	return nil
}

// scaled is img at w×h, each pixel the nearest of img's (transparent
// parts black), whatever kind of picture img is.
func scaled(img image.Image, w, h int) *image.RGBA {
	sb := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		sy := sb.Min.Y + (2*y+1)*sb.Dy()/(2*h)
		for x := range w {
			dst.Set(x, y, img.At(sb.Min.X+(2*x+1)*sb.Dx()/(2*w), sy))
		}
	}
	return dst
}

// Remove drops the teacher's cover of stream name: the last frame is the
// cover again.
func (c *Covers) Remove(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := os.Remove(filepath.Join(c.cfg.Dir, name+".jpg")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cover: %w", err)
	}
	return nil
}

// forget removes the pictures of a deleted stream.
func (c *Covers) forget(name string) {
	if engine.ValidateName(name) != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.taken, name)
	for _, f := range []string{name + ".jpg", name + ".last.jpg"} {
		_ = os.Remove(filepath.Join(c.cfg.Dir, f))
	}
}

// write saves a picture whole: readers see the old one or the new one.
func (c *Covers) write(file string, b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	tmp, err := os.CreateTemp(c.cfg.Dir, ".cover-*.jpg")
	if err != nil {
		return fmt.Errorf("cover: %w", err)
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(c.cfg.Dir, file))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("cover: save %s: %w", file, err)
	}
	return nil
}

// open is stream name's cover: the teacher's, else the last frame.
func (c *Covers) open(name string) (f *os.File, picked bool, err error) {
	if engine.ValidateName(name) != nil {
		return nil, false, os.ErrNotExist
	}
	if f, err := os.Open(filepath.Join(c.cfg.Dir, name+".jpg")); err == nil {
		return f, true, nil
	}
	f, err = os.Open(filepath.Join(c.cfg.Dir, name+".last.jpg"))
	return f, false, err
}

// Current is stream name's cover as a JPEG, and whether the teacher
// picked it; it fails with os.ErrNotExist when there is none.
func (c *Covers) Current(name string) (jpg []byte, picked bool, err error) {
	f, picked, err := c.open(name)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	jpg, err = io.ReadAll(io.LimitReader(f, MaxBytes))
	return jpg, picked, err
}

// Routes adds the cover endpoints: the picture for anyone who may watch
// the stream, setting and removing it for admins.
func (c *Covers) Routes(rt httpapi.Routes) {
	rt.Public("GET /watch/{name}/cover.jpg", c.serve)
	rt.Admin("PUT /api/v1/streams/{name}/cover", c.put)
	rt.Admin("DELETE /api/v1/streams/{name}/cover", c.remove)
}

// View adds "cover" to a stream's view when it has one: its URL (which
// changes with the picture) and whether the teacher picked it.
func (c *Covers) View(name string, _ bool, add func(field string, v any)) {
	f, picked, err := c.open(name)
	if err != nil {
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return
	}
	add("cover", map[string]any{
		"url":    "/watch/" + url.PathEscape(name) + "/cover.jpg?v=" + strconv.FormatInt(st.ModTime().UnixMilli(), 36),
		"picked": picked,
	})
}

func (c *Covers) serve(w http.ResponseWriter, r *http.Request, cl httpapi.Client) {
	name := r.PathValue("name")
	f, _, err := c.open(name)
	if err != nil || !cl.MayWatch(name) {
		if f != nil {
			f.Close()
		}
		httpapi.Error(w, http.StatusNotFound, "no cover picture")
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		httpapi.Error(w, http.StatusNotFound, "no cover picture")
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "cover.jpg", st.ModTime(), f)
}

// put sets the cover from the request body: a JPEG or PNG picture.
func (c *Covers) put(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBytes))
	if err != nil {
		httpapi.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the cover picture has more than %d MB", MaxBytes>>20))
		return
	}
	name := r.PathValue("name")
	if err := c.Set(name, b); err != nil {
		httpapi.Fail(w, c.log, err)
		return
	}
	out := map[string]any{}
	c.View(name, true, func(k string, v any) { out[k] = v })
	httpapi.JSON(w, http.StatusOK, out)
}

func (c *Covers) remove(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, ok := c.hub.Get(name); !ok {
		httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("no stream named %q", name))
		return
	}
	if err := c.Remove(name); err != nil {
		httpapi.Fail(w, c.log, err)
		return
	}
	httpapi.JSON(w, http.StatusOK, map[string]string{"cover": "the last frame"})
}
