package record

// A recording session: one stream's files, written by one goroutine.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"chalkcast/engine"
)

// session is one stream's recording: one file, or several when split. Its
// run goroutine owns the files; others read its progress, which is
// published under mu after every write, so no reader waits for the disk.
type session struct {
	r      *Recorder
	s      *engine.Stream
	name   string
	opt    Settings
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
	return Status{Active: true, Since: &since, File: pr.file.Name, Duration: pr.duration, Bytes: pr.bytes}
}

// publish updates the progress readers see.
func (ss *session) publish() {
	var pr progress
	for _, f := range ss.files {
		pr.bytes += f.Size
		pr.duration += f.Duration
	}
	if pc := ss.cur; pc != nil {
		pr.file = pc.file
		pr.file.Size = pc.good
		pr.file.Duration = pc.c.duration()
		pr.bytes += pc.good
		pr.duration += pc.c.duration()
	}
	ss.mu.Lock()
	ss.progress = pr
	ss.mu.Unlock()
}

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
		ss.r.tell(Event{Kind: EventFailed, Stream: ss.name, Err: err})
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
	ss.r.newLesson(ss.name, filepath.Base(path), now)
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
	pc.file.Duration = pc.c.duration()
	pc.file.from, pc.file.to, pc.file.frames = pc.startDTS, pc.startDTS+pc.c.duration(), pc.c.frames()
	ss.files = append(ss.files, pc.file)
	if !ok || err != nil {
		return err
	}
	ss.r.log.Info("recording saved", "stream", ss.name, "file", pc.file.Path, "duration", pc.file.Duration, "bytes", pc.file.Size)
	ss.r.tell(Event{Kind: EventSaved, Stream: ss.name, File: pc.file})
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
