package record

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/mediatest"
	"chalkcast/internal/testkit"
	"chalkcast/sources/testpattern"
)

// listen collects what rec tells from now on.
func listen(t *testing.T, rec *Recorder) <-chan Event {
	events := make(chan Event, 64)
	t.Cleanup(rec.Listen(func(e Event) {
		select {
		case events <- e:
		default:
			t.Errorf("more events than expected: %+v", e)
		}
	}))
	return events
}

// live makes a hub with a test-pattern stream (480p30, keyframe every 2 s,
// AAC) and a recorder on a temporary folder.
func live(t *testing.T, rc Settings) (*engine.Hub, *engine.Stream, *Recorder) {
	t.Helper()
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	srcs := engine.NewSources(hub, map[string]engine.SourceKind{testpattern.Type: testpattern.New(hub.Pool())}, nil)
	rec, err := New(hub, Config{Dir: filepath.Join(t.TempDir(), "recordings")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rec.Close()
		srcs.Close()
		hub.Close()
	})
	section, err := rc.Encode()
	if err != nil {
		t.Fatal(err)
	}
	s, err := hub.Create(engine.StreamConfig{Name: "maths", Outputs: map[string]json.RawMessage{Section: section},
		Source: engine.Source{Type: testpattern.Type, Options: map[string]string{"preset": "480p"}}})
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "live", func() bool { return s.State() == engine.StateLive })
	return hub, s, rec
}

// probe checks a recording with ffprobe and ffmpeg: H.264 and AAC, every
// frame decodes, and returns its duration and its video frame count.
func probe(t *testing.T, path string) (float64, int) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v",
		"-show_entries", "stream=codec_name,nb_read_frames:format=duration", "-of", "default=nw=1", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", path, err, out)
	}
	var dur float64
	var frames int
	kv := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		kv[k] = v
	}
	if kv["codec_name"] != "h264" {
		t.Errorf("%s: video %q", path, kv["codec_name"])
	}
	if _, err := fmt.Sscan(kv["duration"], &dur); err != nil {
		t.Errorf("%s: duration %q", path, kv["duration"])
	}
	if _, err := fmt.Sscan(kv["nb_read_frames"], &frames); err != nil {
		t.Errorf("%s: frames %q", path, kv["nb_read_frames"])
	}
	rep, err := mediatest.Probe(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if a, _, ok := rep.Track("audio"); !ok || a.Codec != "aac" {
		t.Errorf("%s: audio %+v", path, a)
	}
	if b, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(b) > 0 {
		t.Errorf("%s does not decode cleanly: %v %s", path, err, b)
	}
	return dur, frames
}

func TestRecordMP4AndFLV(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	for _, format := range []string{"mp4", "flv"} {
		t.Run(format, func(t *testing.T) {
			_, _, rec := live(t, Settings{Format: format})
			st, err := rec.Start("maths", nil)
			if err != nil || !st.Active {
				t.Fatalf("start: %+v %v", st, err)
			}
			if _, err := rec.Start("maths", nil); !errors.Is(err, ErrRecording) {
				t.Errorf("second start: %v", err)
			}
			time.Sleep(4 * time.Second)
			if st := rec.Status("maths"); !st.Active || st.Bytes == 0 || st.Duration.Seconds() < 2 {
				t.Errorf("status while recording: %+v", st)
			}
			f, err := rec.Stop("maths")
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Ext(f.Name) != "."+format || !nameOK(f.Stream, f.Name) || f.Size == 0 {
				t.Fatalf("file %+v", f)
			}
			dur, frames := probe(t, f.Path)
			if d := dur - f.Duration.Seconds(); d < -0.2 || d > 0.2 || f.Duration.Seconds() < 3.5 || f.Duration.Seconds() > 6.5 {
				t.Errorf("ffprobe says %.2f s, the recorder %.2f s (recorded about 4 s from the last keyframe)", dur, f.Duration.Seconds())
			}
			if frames < int(f.Duration.Seconds()*30)-5 {
				t.Errorf("%d frames in %.2f s at 30 fps", frames, f.Duration.Seconds())
			}
			list, err := rec.List()
			if err != nil || len(list) != 1 || list[0].Name != f.Name || list[0].Recording || list[0].Size != f.Size {
				t.Fatalf("list %+v %v", list, err)
			}
			if d := list[0].Duration.Seconds() - f.Duration.Seconds(); d < -0.1 || d > 0.1 {
				t.Errorf("listed duration %.2f s, recorded %.2f s", list[0].Duration.Seconds(), f.Duration.Seconds())
			}
			if _, err := rec.Stop("maths"); !errors.Is(err, ErrNotRecording) {
				t.Errorf("second stop: %v", err)
			}
		})
	}
}

// TestSplitLosesNothing: split recordings cut at keyframes, and the pieces
// together hold every frame once.
func TestSplitLosesNothing(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	_, _, rec := live(t, Settings{SplitMinutes: 0.05}) // 3 s: cut at the keyframe after
	if _, err := rec.Start("maths", nil); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	ss := rec.active["maths"]
	rec.mu.Unlock()
	time.Sleep(9 * time.Second)
	if _, err := rec.Stop("maths"); err != nil {
		t.Fatal(err)
	}
	if len(ss.files) < 2 {
		t.Fatalf("%d files, want ≥ 2", len(ss.files))
	}
	total := 0
	for i, f := range ss.files {
		_, frames := probe(t, f.Path)
		if frames != f.frames {
			t.Errorf("piece %d: ffmpeg decodes %d frames, %d were written", i, frames, f.frames)
		}
		total += frames
		if i > 0 && absDur(f.from-ss.files[i-1].to) > time.Millisecond {
			t.Errorf("piece %d starts at %v, the previous one ended at %v", i, f.from, ss.files[i-1].to)
		}
		rep, err := mediatest.Probe(context.Background(), f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rep.CheckVideo(30, 2*time.Second); err != nil {
			t.Errorf("piece %d: %v", i, err)
		}
	}
	// every frame the recording read is in exactly one piece
	if total != ss.read {
		t.Errorf("the pieces hold %d frames; the recording read %d", total, ss.read)
	}
}

// fullDisk fails writes with ENOSPC once limit bytes were written.
type fullDisk struct {
	*os.File
	left atomic.Int64
}

func (f *fullDisk) Write(b []byte) (int, error) {
	if f.left.Add(-int64(len(b))) < 0 {
		n, _ := f.File.Write(b[:len(b)/2]) // a torn write, as a full disk makes
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return f.File.Write(b)
}

// TestFullDisk: the recording stops with a clear error and an event, the
// stream goes on, and the file keeps what was written, playable.
func TestFullDisk(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	_, s, rec := live(t, Settings{})
	rec.create = func(p string) (sink, error) {
		f, err := os.Create(p)
		if err != nil {
			return nil, err
		}
		d := &fullDisk{File: f}
		d.left.Store(200_000)
		return d, nil
	}
	events := listen(t, rec)
	if _, err := rec.Start("maths", nil); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 30*time.Second, "the recording to fail", func() bool { return !rec.Status("maths").Active })
	st := rec.Status("maths")
	if !strings.Contains(st.Error, "the disk is full") {
		t.Errorf("status %+v", st)
	}
	var failed bool
	for len(events) > 0 {
		if e := <-events; e.Kind == EventFailed && strings.Contains(e.Err.Error(), "disk is full") {
			failed = true
		}
	}
	if !failed {
		t.Error("the failure was not told")
	}
	if s.State() != engine.StateLive {
		t.Errorf("the stream is %s after the disk filled", s.State())
	}
	list, err := rec.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("list %+v %v", list, err)
	}
	dur, _ := probe(t, list[0].Path)
	if dur < 0.5 || list[0].Size > 200_000 {
		t.Errorf("kept %.2f s in %d bytes", dur, list[0].Size)
	}
	if _, err := rec.Stop("maths"); !errors.Is(err, ErrNotRecording) {
		t.Errorf("stop after failure: %v", err)
	}
}

// TestTornFile: a file cut in the middle of a fragment (power cut) is
// listed with the duration of its whole fragments.
func TestTornFile(t *testing.T) {
	_, _, rec := live(t, Settings{})
	if _, err := rec.Start("maths", nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	f, err := rec.Stop("maths")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f.Path, f.Size-500); err != nil {
		t.Fatal(err)
	}
	torn, err := describe("maths", f.Path)
	if err != nil {
		t.Fatal(err)
	}
	if torn.Duration.Seconds() <= 0.5 || torn.Duration.Seconds() >= f.Duration.Seconds() {
		t.Errorf("torn file lists %.2f s, whole it was %.2f s", torn.Duration.Seconds(), f.Duration.Seconds())
	}
	// the same for FLV, whose last tag is torn
	if _, err := rec.Start("maths", &Settings{Format: "flv"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	f, err = rec.Stop("maths")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f.Path, f.Size-300); err != nil {
		t.Fatal(err)
	}
	if torn, err = describe("maths", f.Path); err != nil || torn.Duration.Seconds() <= 0.5 || torn.Duration.Seconds() > f.Duration.Seconds() {
		t.Errorf("torn FLV lists %.2f s (%v), whole it was %.2f s", torn.Duration.Seconds(), err, f.Duration.Seconds())
	}
}

// TestAutoRecordWhenLive: a stream set to record when live is recorded
// from its first keyframe, in one file with picture and sound.
func TestAutoRecordWhenLive(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	_, _, rec := live(t, Settings{Auto: true})
	testkit.WaitFor(t, 5*time.Second, "automatic recording", func() bool { return rec.Status("maths").Active })
	time.Sleep(3 * time.Second)
	if _, err := rec.Stop("maths"); err != nil {
		t.Fatal(err)
	}
	list, err := rec.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("recordings %+v %v (want one, with video)", list, err)
	}
	probe(t, list[0].Path)
}

func TestAutoRecord(t *testing.T) {
	_, _, rec := live(t, Settings{})
	if rec.Status("maths").Active {
		t.Fatal("recording without being asked")
	}
	if err := rec.SetSettings("maths", Settings{Auto: true}); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 5*time.Second, "automatic recording", func() bool { return rec.Status("maths").Active })
	if err := rec.SetSettings("maths", Settings{Format: "avi"}); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("bad format accepted: %v", err)
	}
}

func TestOpenRefusesPaths(t *testing.T) {
	dir := t.TempDir()
	rec := &Recorder{cfg: Config{Dir: filepath.Join(dir, "recordings")}}
	good := "maths_2026-11-26_09-00-00.mp4"
	for _, p := range []string{"recordings/maths/" + good, "recordings/other/other_2026-11-26_09-00-00.mp4", "streams.json"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "streams.json"), filepath.Join(dir, "recordings/maths/maths_2026-11-26_09-00-01.mp4")); err != nil {
		t.Fatal(err)
	}
	f, err := rec.Open("maths", good)
	if err != nil {
		t.Fatalf("a real recording: %v", err)
	}
	f.Close()
	for _, c := range [][2]string{
		{"maths", "../streams.json"}, {"maths", "../../streams.json"}, {"..", "streams.json"},
		{"maths", "other_2026-11-26_09-00-00.mp4"}, {"maths", "../other/other_2026-11-26_09-00-00.mp4"},
		{"maths", "maths_2026-11-26_09-00-01.mp4"}, // a symlink out
		{"maths", "/etc/passwd"}, {"maths", "maths_2026-11-26_09-00-00.mp4/"}, {"maths", ""},
	} {
		if f, err := rec.Open(c[0], c[1]); !errors.Is(err, os.ErrNotExist) {
			if f != nil {
				f.Close()
			}
			t.Errorf("Open(%q, %q): %v", c[0], c[1], err)
		}
	}
}

func TestLowSpaceWarning(t *testing.T) {
	_, _, rec := live(t, Settings{})
	free := atomic.Uint64{}
	free.Store(100 << 20)
	rec.free = func(string) (uint64, error) { return free.Load(), nil }
	events := listen(t, rec)
	rec.checkSpace() // nothing recording: nothing to warn about
	if _, err := rec.Start("maths", nil); err != nil {
		t.Fatal(err)
	}
	rec.checkSpace()
	rec.checkSpace() // once, not every check
	warnings := 0
	deadline := time.After(2 * time.Second)
	for done := false; !done; {
		select {
		case e := <-events:
			if e.Kind == EventDiskLow {
				warnings++
				if e.Free != 100<<20 {
					t.Errorf("warning %+v", e)
				}
			}
		case <-deadline:
			done = true
		}
	}
	if warnings != 1 {
		t.Errorf("%d low-space warnings, want 1", warnings)
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func TestDeleteRefusesPaths(t *testing.T) {
	dir := t.TempDir()
	rec := &Recorder{cfg: Config{Dir: filepath.Join(dir, "recordings")}}
	good := "maths_2026-11-26_09-00-00.mp4"
	for _, p := range []string{"recordings/maths/" + good, "recordings/maths/maths_2026-11-26_09-00-02.mp4.part",
		"recordings/other/other_2026-11-26_09-00-00.mp4", "streams.json"} {
		writeFile(t, filepath.Join(dir, p))
	}
	if err := os.Symlink(filepath.Join(dir, "streams.json"), filepath.Join(dir, "recordings/maths/maths_2026-11-26_09-00-01.mp4")); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]string{
		{"maths", "../streams.json"}, {"maths", "../../streams.json"}, {"..", "streams.json"},
		{"maths", "other_2026-11-26_09-00-00.mp4"}, {"maths", "../other/other_2026-11-26_09-00-00.mp4"},
		{"maths", "maths_2026-11-26_09-00-01.mp4"}, // a symlink out
		{"maths", "maths_2026-11-26_09-00-02.mp4.part"},
		{"maths", "/etc/passwd"}, {"maths", good + "/"}, {"maths", ""}, {"maths", "maths_2026-11-26_09-00-09.mp4"},
	} {
		if err := rec.Delete(c[0], c[1]); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Delete(%q, %q): %v", c[0], c[1], err)
		}
	}
	for _, p := range []string{"streams.json", "recordings/other/other_2026-11-26_09-00-00.mp4",
		"recordings/maths/maths_2026-11-26_09-00-02.mp4.part", "recordings/maths/" + good} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "recordings/maths/maths_2026-11-26_09-00-01.mp4")); err != nil {
		t.Errorf("the symlink was removed: %v", err)
	}
	if err := rec.Delete("maths", good); err != nil {
		t.Fatalf("a real recording: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "recordings/maths", good)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("still there: %v", err)
	}
	if err := rec.Delete("maths", good); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("second delete: %v", err)
	}
}

// TestDeleteWhileRecording: the file being written is refused; once
// stopped it can be deleted, and the listing no longer has it.
func TestDeleteWhileRecording(t *testing.T) {
	_, _, rec := live(t, Settings{})
	if _, err := rec.Start("maths", nil); err != nil {
		t.Fatal(err)
	}
	var name string
	testkit.WaitFor(t, 10*time.Second, "a file being written", func() bool {
		name = rec.Status("maths").File
		return name != ""
	})
	if err := rec.Delete("maths", name); !errors.Is(err, ErrWriting) {
		t.Fatalf("delete while recording: %v", err)
	}
	f, err := rec.Stop("maths")
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Delete("maths", f.Name); err != nil {
		t.Fatalf("delete after stopping: %v", err)
	}
	if list, err := rec.List(); err != nil || len(list) != 0 {
		t.Errorf("list after delete: %+v %v", list, err)
	}
}
