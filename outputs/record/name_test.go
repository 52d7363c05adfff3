package record

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/testkit"
)

func nameOK(stream, file string) bool {
	_, ok := parseName(stream, file)
	return ok
}

func TestParseName(t *testing.T) {
	at := time.Date(2026, 11, 26, 9, 0, 5, 0, time.Local)
	for _, c := range []struct {
		stream, file string
		ok           bool
		start        time.Time
	}{
		{"maths", "maths_2026-11-26_09-00-05.mp4", true, at},
		{"maths", "maths_2026-11-26_09-00-05-2.flv", true, at},
		{"maths", "maths_2026-13-26_09-00-05.mp4", true, time.Time{}}, // listed with its file's time
		{"maths_a", "maths_a_2026-11-26_09-00-05.mp4", true, at},
		{"maths", "maths_a_2026-11-26_09-00-05.mp4", false, time.Time{}}, // maths_a's file
		{"maths", "other_2026-11-26_09-00-05.mp4", false, time.Time{}},
		{"maths", "maths_2026-11-26_09-00-05.mp4/", false, time.Time{}},
		{"maths", "maths_2026-11-26_09-00-05-100.mp4", false, time.Time{}},
		{"maths", "maths_2026-11-26_09-00-05.mkv", false, time.Time{}},
		{"maths", "maths_2026-11-26_09-00-05.mp4.part", false, time.Time{}},
		{"..", ".._2026-11-26_09-00-05.mp4", false, time.Time{}},
		{"", "_2026-11-26_09-00-05.mp4", false, time.Time{}},
	} {
		start, ok := parseName(c.stream, c.file)
		if ok != c.ok || !start.Equal(c.start) {
			t.Errorf("parseName(%q, %q) = %v, %v; want %v, %v", c.stream, c.file, start, ok, c.start, c.ok)
		}
	}
}

// FuzzRecordingName: whatever stream and file name a client asks for, a
// name is accepted only for a file in that stream's own folder, and Open
// opens nothing else (the recordings folder holds two streams' files, and
// the data folder a file next to it).
func FuzzRecordingName(f *testing.F) {
	dir := f.TempDir()
	rec := &Recorder{cfg: Config{Dir: filepath.Join(dir, "recordings")}}
	inside := map[string][]string{
		"maths":   {"maths_2026-11-26_09-00-00.mp4", "maths_2026-11-26_09-00-00-2.flv"},
		"maths_a": {"maths_a_2026-11-26_09-00-00.mp4"},
	}
	for stream, files := range inside {
		for _, name := range files {
			writeFile(f, filepath.Join(rec.cfg.Dir, stream, name))
		}
	}
	writeFile(f, filepath.Join(dir, "streams.json"))
	writeFile(f, filepath.Join(rec.cfg.Dir, "maths", "maths_2026-11-26_09-00-00.mp4.part"))
	f.Add("maths", "maths_2026-11-26_09-00-00.mp4")
	f.Add("maths", "maths_2026-11-26_09-00-00-2.flv")
	f.Add("maths", "maths_a_2026-11-26_09-00-00.mp4")
	f.Add("maths", "../streams.json")
	f.Add("..", "maths/maths_2026-11-26_09-00-00.mp4")
	f.Add("maths", "maths_2026-11-26_09-00-00.mp4\x00")
	f.Add("maths", `maths_2026-11-26_09-00-00.mp4\..\..\streams.json`)
	f.Fuzz(func(t *testing.T, stream, file string) {
		testkit.MaxAlloc(t, testkit.InputBound(len(stream)+len(file)), func() {
			if nameOK(stream, file) {
				rel := filepath.Join(stream, file)
				if engine.ValidateName(stream) != nil || strings.ContainsAny(file, "/\\:\x00") || strings.Contains(file, "..") ||
					!filepath.IsLocal(rel) || filepath.Dir(rel) != stream || filepath.Base(rel) != file {
					t.Fatalf("accepted %q in the folder of stream %q", file, stream)
				}
			}
			fh, err := rec.Open(stream, file)
			if err != nil {
				return
			}
			defer fh.Close()
			st, err := fh.Stat()
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range inside[stream] {
				if in, err := os.Stat(filepath.Join(rec.cfg.Dir, stream, name)); err == nil && os.SameFile(st, in) {
					return
				}
			}
			t.Fatalf("Open(%q, %q) opened a file outside the stream's folder", stream, file)
		})
	})
}

func writeFile(t testing.TB, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}
