// Package record writes streams to disk: fragmented MP4 (or FLV) under
// <data>/recordings/<stream>/, a fragment per second so that a crash, a
// power cut or a full disk costs at most the last second or two; split
// into pieces at keyframes on request; started by hand or whenever a
// stream is live. It serves its own API endpoints (Routes) and its part of
// a stream's view, and reports to whoever listens (Listen); it must not
// import another output, a source or the GUI.
package record

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"chalkcast/engine"
)

// Config is the recorder's configuration.
type Config struct {
	// Dir holds the recordings, one folder per stream.
	Dir string
	// LowSpace: below this much free space in Dir a warning is announced
	// (once, until space comes back). Default 2 GiB.
	LowSpace uint64
	// FragmentEvery is how much media each write carries, so at most what
	// a crash loses. Default 1 s.
	FragmentEvery time.Duration
}

// File is one recording on disk.
type File struct {
	Stream   string        `json:"stream"`
	Name     string        `json:"file"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"-"` // duration_s in JSON
	Size     int64         `json:"size"`
	// Recording: the file is still being written.
	Recording bool `json:"recording,omitempty"`
	// Path is where it is on this computer.
	Path string `json:"-"`
	// from and to are the stream time the file covers, and frames its
	// video frames (for tests that check a split loses and repeats
	// nothing).
	from, to time.Duration
	frames   int
}

// Status is a stream's recording state.
type Status struct {
	Active bool `json:"active"`
	// Auto: the stream is recorded whenever it is live.
	Auto     bool          `json:"auto,omitempty"`
	File     string        `json:"file,omitempty"`
	Since    *time.Time    `json:"since,omitempty"`
	Duration time.Duration `json:"-"` // duration_s in JSON
	Bytes    int64         `json:"bytes,omitempty"`
	// Error is why the last recording stopped, if it failed.
	Error string `json:"error,omitempty"`
}

// MarshalJSON writes the duration in seconds, as the API does.
func (f File) MarshalJSON() ([]byte, error) {
	type plain File
	return json.Marshal(struct {
		plain
		DurationS float64 `json:"duration_s"`
	}{plain(f), f.Duration.Seconds()})
}

// MarshalJSON writes the duration in seconds, as the API does.
func (st Status) MarshalJSON() ([]byte, error) {
	type plain Status
	return json.Marshal(struct {
		plain
		DurationS float64 `json:"duration_s,omitempty"`
	}{plain(st), st.Duration.Seconds()})
}

// Errors callers map to answers.
var (
	ErrNotLive      = errors.New("the stream is not live: start it first, or turn on recording when live")
	ErrNotRecording = errors.New("the stream is not being recorded")
	ErrRecording    = errors.New("the stream is already being recorded")
	ErrWriting      = errors.New("the recording is still being written: stop recording first")
)

// sink is an open recording file.
type sink interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Close() error
}

// Recorder records the hub's streams.
type Recorder struct {
	hub    *engine.Hub
	cfg    Config
	log    *slog.Logger
	create func(path string) (sink, error)
	free   func(dir string) (uint64, error)
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	active  map[string]*session
	lastErr map[string]string
	low     bool // the low-space warning was given

	// writing are the paths of the files open for writing: Delete
	// refuses them. Marked before a file is created, so Delete never
	// removes a file that is about to be written.
	wmu     sync.Mutex
	writing map[string]bool

	known   fileCache[File]      // what listing found in finished files
	indexes fileCache[*mp4Index] // finished MP4 files' fragments, for replays

	lmu     sync.Mutex                       // held while a stream's lessons.json is read or written
	meta    map[string]map[string]lessonMeta // what they hold, by stream once read
	replays replayViewers

	listeners listeners
}

// New starts a recorder: it records streams set to record when live as
// soon as they are, and watches free space while recording.
func New(hub *engine.Hub, cfg Config, log *slog.Logger) (*Recorder, error) {
	if cfg.LowSpace == 0 {
		cfg.LowSpace = 2 << 30
	}
	if cfg.FragmentEvery <= 0 {
		cfg.FragmentEvery = time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("record: recordings folder: %w", err)
	}
	r := &Recorder{
		hub: hub, cfg: cfg, log: log.With("component", "record"),
		create: func(p string) (sink, error) {
			return os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		},
		free:    freeSpace,
		active:  map[string]*session{},
		lastErr: map[string]string{},
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		r.auto()
	}()
	go func() {
		defer r.wg.Done()
		r.watchSpace()
	}()
	return r, nil
}

// Dir is the recordings folder.
func (r *Recorder) Dir() string { return r.cfg.Dir }

// auto starts recordings of streams set to record when live, as they go
// live or are set so.
func (r *Recorder) auto() {
	sub := r.hub.Subscribe(64)
	defer sub.Close()
	check := func(name string) {
		s, ok := r.hub.Get(name)
		if !ok || !SettingsOf(s.Config()).Auto || !s.State().Active() {
			return
		}
		if _, err := r.Start(name, nil); err != nil && !errors.Is(err, ErrRecording) {
			r.log.Warn("automatic recording did not start", "stream", name, "err", err)
		}
	}
	for _, s := range r.hub.Streams() {
		check(s.Name())
	}
	for {
		select {
		case <-r.ctx.Done():
			return
		case e, ok := <-sub.C:
			if !ok {
				return
			}
			if e.Kind == engine.EventStreamLive || (e.Kind == engine.EventOutputConfig && e.Output == Section) {
				check(e.Stream)
			}
		}
	}
}

// Start records stream name from its latest keyframe on, with opt or,
// if nil, the stream's recording setting.
func (r *Recorder) Start(name string, opt *Settings) (Status, error) {
	s, ok := r.hub.Get(name)
	if !ok {
		return Status{}, fmt.Errorf("stream %s: %w", name, engine.ErrNotFound)
	}
	o := SettingsOf(s.Config())
	if opt != nil {
		o = *opt
	}
	if err := o.Validate(); err != nil {
		return Status{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return Status{}, errors.New("record: shutting down")
	}
	if _, ok := r.active[name]; ok {
		return Status{}, ErrRecording
	}
	rd, err := s.NewReader(nil)
	if err != nil {
		return Status{}, ErrNotLive
	}
	ctx, cancel := context.WithCancel(r.ctx)
	ss := &session{r: r, s: s, name: name, opt: o, cancel: cancel, done: make(chan struct{}), since: time.Now()}
	r.active[name] = ss
	delete(r.lastErr, name)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ss.run(ctx, rd)
	}()
	r.log.Info("recording started", "stream", name, "format", ss.format())
	r.tell(Event{Kind: EventStarted, Stream: name})
	return ss.status(), nil
}

// Stop ends the recording of name and returns its last file.
func (r *Recorder) Stop(name string) (File, error) {
	r.mu.Lock()
	ss, ok := r.active[name]
	r.mu.Unlock()
	if !ok {
		return File{}, ErrNotRecording
	}
	ss.cancel()
	<-ss.done
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.err != nil {
		return File{}, ss.err
	}
	if len(ss.files) == 0 {
		return File{}, errors.New("record: nothing was recorded (no keyframe arrived)")
	}
	return ss.files[len(ss.files)-1], nil
}

// Status is the recording state of stream name.
func (r *Recorder) Status(name string) Status {
	r.mu.Lock()
	ss, ok := r.active[name]
	last := r.lastErr[name]
	r.mu.Unlock()
	st := Status{Error: last}
	if ok {
		st = ss.status()
	}
	if s, ok := r.hub.Get(name); ok {
		st.Auto = SettingsOf(s.Config()).Auto
	}
	return st
}

// Close stops every recording, finishing its file.
func (r *Recorder) Close() {
	r.mu.Lock()
	r.cancel()
	r.mu.Unlock()
	r.wg.Wait()
}

// ended removes a session that finished, keeping its error.
func (r *Recorder) ended(ss *session, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active[ss.name] == ss {
		delete(r.active, ss.name)
	}
	if err != nil {
		r.lastErr[ss.name] = err.Error()
	}
}

// watchSpace warns once when free space in the recordings folder falls
// below LowSpace while something is recording.
func (r *Recorder) watchSpace() {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		r.checkSpace()
	}
}

func (r *Recorder) checkSpace() {
	r.mu.Lock()
	recording := len(r.active) > 0
	r.mu.Unlock()
	if !recording {
		return
	}
	free, err := r.free(r.cfg.Dir)
	if err != nil {
		return
	}
	r.mu.Lock()
	warn := free < r.cfg.LowSpace && !r.low
	switch {
	case warn:
		r.low = true
	case free > 2*r.cfg.LowSpace:
		r.low = false
	}
	r.mu.Unlock()
	if warn {
		r.log.Warn("disk space is low for recordings", "dir", r.cfg.Dir, "free_mib", free>>20)
		r.tell(Event{Kind: EventDiskLow, Free: free})
	}
}
