// Package record writes streams to disk: fragmented MP4 (or FLV) under
// <data>/recordings/<stream>/, a fragment per second so that a crash, a
// power cut or a full disk costs at most the last second or two; split
// into pieces at keyframes on request; started by hand or whenever a
// stream is live.
package record

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
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
	Stream    string    `json:"stream"`
	Name      string    `json:"file"`
	Start     time.Time `json:"start"`
	DurationS float64   `json:"duration_s"`
	Size      int64     `json:"size"`
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
	Active    bool       `json:"active"`
	File      string     `json:"file,omitempty"`
	Since     *time.Time `json:"since,omitempty"`
	DurationS float64    `json:"duration_s,omitempty"`
	Bytes     int64      `json:"bytes,omitempty"`
	// Error is why the last recording stopped, if it failed.
	Error string `json:"error,omitempty"`
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

	known durations // what listing found in finished files
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
		if !ok || !s.Config().Recording.Auto || !s.State().Active() {
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
			if e.Kind == engine.EventStreamLive || e.Kind == engine.EventRecordingConfig {
				check(e.Stream)
			}
		}
	}
}

// Start records stream name from its latest keyframe on, with opt or,
// if nil, the stream's recording setting.
func (r *Recorder) Start(name string, opt *engine.RecordingConfig) (Status, error) {
	s, ok := r.hub.Get(name)
	if !ok {
		return Status{}, fmt.Errorf("stream %s: %w", name, engine.ErrNotFound)
	}
	o := s.Config().Recording
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
	r.hub.Announce(engine.Event{Kind: engine.EventRecordingStarted, Stream: name})
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
	if ok {
		return ss.status()
	}
	return Status{Error: last}
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
		r.hub.Announce(engine.Event{Kind: engine.EventDiskLow, Recording: &engine.RecordingInfo{FreeBytes: free}})
	}
}

// session is one stream's recording: one file, or several when split. Its
// run goroutine owns the files; others read its progress, which is
// published under mu after every write, so no reader waits for the disk.
type session struct {
	r      *Recorder
	s      *engine.Stream
	name   string
	opt    engine.RecordingConfig
	cancel context.CancelFunc
	done   chan struct{}
	since  time.Time

	// owned by run
	cur   *piece
	prev  *piece // the file before a cut, open until its audio is in
	files []File
	err   error
	cut   bool // an audio configuration changed: a new file at the next keyframe
	read  int  // video frames read since the first file opened

	mu       sync.Mutex
	progress progress
}

// progress is what status readers see.
type progress struct {
	file     File // the file being written (Name empty when none)
	bytes    int64
	duration time.Duration // finished files and the current one
}

// piece is one file being written.
type piece struct {
	f        sink
	file     File
	c        container
	startDTS time.Duration
	video    *engine.CodecConfig
	audio    *engine.CodecConfig
	good     int64 // bytes written whole: a failed write is cut back to here
	media    bool  // a fragment with media was written after the header
	broken   bool  // a write failed: nothing more goes in
}

// audioGrace is how long after a cut the previous file still takes audio
// stamped before the cut (audio may arrive after the keyframe that cuts).
const audioGrace = 500 * time.Millisecond

// audioWait is how long a new recording of a stream that has no video yet
// waits for video before it records audio alone (sources announce their
// tracks as packets arrive).
const audioWait = 3 * time.Second

func (ss *session) format() string {
	if ss.opt.Format == "flv" {
		return "flv"
	}
	return "mp4"
}

func (ss *session) status() Status {
	ss.mu.Lock()
	pr := ss.progress
	ss.mu.Unlock()
	since := ss.since
	return Status{Active: true, Since: &since, File: pr.file.Name, DurationS: pr.duration.Seconds(), Bytes: pr.bytes}
}

// publish updates the progress readers see.
func (ss *session) publish() {
	var pr progress
	for _, f := range ss.files {
		pr.bytes += f.Size
		pr.duration += seconds(f.DurationS)
	}
	if pc := ss.cur; pc != nil {
		pr.file = pc.file
		pr.file.Size = pc.good
		pr.file.DurationS = pc.c.duration().Seconds()
		pr.bytes += pc.good
		pr.duration += pc.c.duration()
	}
	ss.mu.Lock()
	ss.progress = pr
	ss.mu.Unlock()
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func (ss *session) run(ctx context.Context, rd *engine.Reader) {
	defer close(ss.done)
	defer rd.Close()
	var (
		batch []*engine.Packet
		err   error
		skips uint64
	)
	for err == nil {
		batch, err = rd.Next(ctx, batch[:0])
		if err != nil {
			err = nil // the stream ended or the recording was stopped
			break
		}
		if n := rd.Skips(); n != skips {
			skips = n // the disk fell more than the ring behind
			ss.r.log.Warn("recording skipped ahead: the disk is too slow for this stream", "stream", ss.name, "skips", n)
		}
		for _, p := range batch {
			if err = ss.write(p); err != nil {
				break
			}
		}
		ss.publish()
	}
	if cerr := ss.closeAll(err == nil); err == nil {
		err = cerr
	}
	ss.err = err
	if err != nil {
		ss.r.log.Error("recording stopped", "stream", ss.name, "err", err)
		ss.r.hub.Announce(engine.Event{Kind: engine.EventRecordingFailed, Stream: ss.name, Error: err.Error()})
	} else {
		ss.r.log.Info("recording finished", "stream", ss.name, "files", len(ss.files))
	}
	ss.r.ended(ss, err)
}

// write adds one packet, opening, splitting and closing files as needed.
func (ss *session) write(p *engine.Packet) error {
	if p.Config == nil {
		return nil
	}
	if p.Track == engine.TrackVideo {
		return ss.writeVideo(p)
	}
	return ss.writeAudio(p)
}

func (ss *session) writeVideo(p *engine.Packet) error {
	if ss.cur != nil || ss.prev != nil || len(ss.files) > 0 || p.Keyframe {
		ss.read++
	}
	if pc := ss.prev; pc != nil && p.DTS-pc.endDTS() > audioGrace {
		if err := ss.finish(pc, true); err != nil {
			return err
		}
	}
	if pc := ss.cur; pc != nil && (ss.cut || !p.Config.Equal(pc.video) || ss.splitDue(p)) {
		if !p.Keyframe {
			if !p.Config.Equal(pc.video) {
				return nil // frames of a new configuration wait for its keyframe
			}
		} else {
			if err := ss.cutAt(p); err != nil {
				return err
			}
		}
	}
	if ss.cur == nil {
		if !p.Keyframe {
			return nil // a file starts on a keyframe
		}
		_, audio := ss.s.Configs()
		if err := ss.open(p, p.Config, audio); err != nil {
			return err
		}
	}
	return ss.cur.add(p)
}

// cutAt ends the current file at keyframe p: the previous file stays open
// a moment for audio stamped before p.
func (ss *session) cutAt(p *engine.Packet) error {
	if ss.prev != nil {
		if err := ss.finish(ss.prev, true); err != nil {
			return err
		}
	}
	if ss.cur.video == nil {
		return ss.finish(ss.cur, true) // an audio-only file that video now joins
	}
	ss.prev, ss.cur = ss.cur, nil
	return nil
}

func (ss *session) writeAudio(p *engine.Packet) error {
	if pc := ss.prev; pc != nil && p.DTS < ss.cutDTS() {
		if p.Config.Equal(pc.audio) {
			return pc.add(p) // stamped before the cut: it belongs to the file before
		}
		return nil
	}
	if ss.cur == nil {
		if video, _ := ss.s.Configs(); video != nil || time.Since(ss.since) < audioWait {
			return nil // wait for the video's keyframe
		}
		if err := ss.open(p, nil, p.Config); err != nil {
			return err
		}
	}
	pc := ss.cur
	if !p.Config.Equal(pc.audio) {
		if pc.video != nil {
			ss.cut = true // a new file at the next keyframe
			return nil
		}
		if err := ss.finish(pc, true); err != nil { // audio only: start again here
			return err
		}
		if err := ss.open(p, nil, p.Config); err != nil {
			return err
		}
		pc = ss.cur
	}
	if p.DTS < pc.startDTS {
		return nil // sound from before the file's first picture
	}
	return pc.add(p)
}

// cutDTS is where the current file starts (the previous one ends).
func (ss *session) cutDTS() time.Duration {
	if ss.cur != nil {
		return ss.cur.startDTS
	}
	return ss.prev.endDTS()
}

func (ss *session) splitDue(p *engine.Packet) bool {
	return ss.opt.SplitMinutes > 0 && p.DTS-ss.cur.startDTS >= time.Duration(ss.opt.SplitMinutes*float64(time.Minute))
}

// open starts a new file at packet p.
func (ss *session) open(p *engine.Packet, video, audio *engine.CodecConfig) error {
	dir := filepath.Join(ss.r.cfg.Dir, ss.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return explain(fmt.Errorf("record: folder %s: %w", dir, err))
	}
	now := time.Now()
	base := ss.name + "_" + now.Format(stampLayout)
	var (
		f    sink
		path string
		err  error
	)
	for i := 1; i < 100; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i) // two files in one second (a split)
		}
		path = filepath.Join(dir, name+"."+ss.format())
		ss.r.markWriting(path, true)
		if f, err = ss.r.create(path); !errors.Is(err, os.ErrExist) {
			break
		}
		ss.r.markWriting(path, false)
	}
	if err != nil {
		ss.r.markWriting(path, false)
		return explain(fmt.Errorf("record: create %s: %w", path, err))
	}
	var c container
	if ss.format() == "flv" {
		c = newFLV(video, audio, p.DTS, ss.r.cfg.FragmentEvery)
	} else if c, err = newFMP4(video, audio, p.DTS, ss.r.cfg.FragmentEvery); err != nil {
		f.Close()
		os.Remove(path)
		ss.r.markWriting(path, false)
		return err
	}
	pc := &piece{f: f, c: c, startDTS: p.DTS, video: video, audio: audio,
		file: File{Stream: ss.name, Name: filepath.Base(path), Start: now, Path: path, Recording: true}}
	ss.cur = pc
	ss.cut = false
	h, err := c.header()
	if err == nil {
		err = pc.write(h)
	}
	pc.media = false
	return err
}

// closeAll finishes the open files; ok is false after a failure.
func (ss *session) closeAll(ok bool) error {
	var err error
	for _, pc := range []*piece{ss.prev, ss.cur} {
		if pc != nil {
			if ferr := ss.finish(pc, ok); err == nil {
				err = ferr
			}
		}
	}
	ss.prev, ss.cur = nil, nil
	ss.publish()
	return err
}

// finish closes a file. A file with no media (the first write failed) is
// removed; a file cut short by a failure is kept, without "saved".
func (ss *session) finish(pc *piece, ok bool) error {
	if ss.prev == pc {
		ss.prev = nil
	}
	if ss.cur == pc {
		ss.cur = nil
	}
	var err error
	if !pc.broken {
		b, eerr := pc.c.finish()
		if err = eerr; err == nil {
			err = pc.write(b)
		}
	}
	if cerr := pc.f.Close(); err == nil && cerr != nil {
		err = explain(fmt.Errorf("record: close %s: %w", pc.file.Path, cerr))
	}
	if !pc.media {
		_ = os.Remove(pc.file.Path)
	}
	ss.r.markWriting(pc.file.Path, false)
	if !pc.media {
		return err
	}
	pc.file.Recording = false
	pc.file.Size = pc.good
	pc.file.DurationS = pc.c.duration().Seconds()
	pc.file.from, pc.file.to, pc.file.frames = pc.startDTS, pc.startDTS+pc.c.duration(), pc.c.frames()
	ss.files = append(ss.files, pc.file)
	if !ok || err != nil {
		return err
	}
	info := &engine.RecordingInfo{File: pc.file.Name, DurationS: pc.file.DurationS, Size: pc.file.Size}
	ss.r.log.Info("recording saved", "stream", ss.name, "file", pc.file.Path, "duration_s", info.DurationS, "bytes", info.Size)
	ss.r.hub.Announce(engine.Event{Kind: engine.EventRecordingSaved, Stream: ss.name, Recording: info})
	return nil
}

// endDTS is the stream time where the file's media ends.
func (pc *piece) endDTS() time.Duration { return pc.startDTS + pc.c.duration() }

// add hands a packet to the file's container and writes what it returns.
func (pc *piece) add(p *engine.Packet) error {
	b, err := pc.c.add(p)
	if err != nil {
		return err
	}
	return pc.write(b)
}

// write appends b and flushes it to the disk. A write that fails is cut
// back and the file closed to further writes, so it stays playable up to
// its last whole fragment.
func (pc *piece) write(b []byte) error {
	if len(b) == 0 || pc.broken {
		return nil
	}
	_, err := pc.f.Write(b)
	if err == nil {
		err = pc.f.Sync()
	}
	if err != nil {
		pc.broken = true
		_ = pc.f.Truncate(pc.good)
		return explain(fmt.Errorf("record: write %s: %w", pc.file.Path, err))
	}
	pc.good += int64(len(b))
	pc.media = true
	return nil
}

// explain puts the common disk errors in plain words.
func explain(err error) error {
	switch {
	case diskFull(err):
		return fmt.Errorf("the disk is full; what was recorded so far is kept (%w)", err)
	case readOnly(err):
		return fmt.Errorf("the recordings folder cannot be written to (%w)", err)
	}
	return err
}
