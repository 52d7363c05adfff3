package store

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
)

func sampleStreams() []engine.StreamConfig {
	created := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	return []engine.StreamConfig{
		{
			Name: "maths", Title: "Maths 101 — Prof. Müller", Key: "0123456789abcdef0123456789abcdef",
			Source:  engine.Source{Type: "rtmp"},
			Created: created,
		},
		{
			Name: "lab-cam_2", Key: "fedcba9876543210fedcba9876543210",
			Source: engine.Source{Type: "rtsp", URL: "rtsp://10.0.0.5:554/stream1",
				Options: map[string]string{"transport": "tcp", "quoted": `"x" & <y>`}},
			Created: created.Add(time.Hour),
		},
	}
}

// leftovers lists files in dir other than streams.json.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.Name() != "streams.json" {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	f, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := sampleStreams()
	if err := f.Save(want); err != nil {
		t.Fatalf("Save: %v", err)
	}
	// A fresh store on the same folder sees the same streams.
	f2, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f2.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", got, want)
	}

	// The file is versioned JSON.
	b, err := os.ReadFile(filepath.Join(dir, "streams.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version int               `json:"version"`
		Streams []json.RawMessage `json:"streams"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("file is not JSON: %v", err)
	}
	if doc.Version != 1 || len(doc.Streams) != 2 {
		t.Errorf("document version %d with %d streams", doc.Version, len(doc.Streams))
	}
	if !strings.HasSuffix(string(b), "\n") {
		t.Errorf("file does not end with a newline")
	}

	// Saving again replaces, not appends.
	if err := f.Save(want[1:]); err != nil {
		t.Fatal(err)
	}
	got, err = f.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want[1:]) {
		t.Errorf("after the second save Load = %+v", got)
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Errorf("files left behind: %v", l)
	}
}

func TestSaveEmpty(t *testing.T) {
	for _, in := range [][]engine.StreamConfig{nil, {}} {
		f, err := New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Save(in); err != nil {
			t.Fatalf("Save(%#v): %v", in, err)
		}
		got, err := f.Load()
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if len(got) != 0 {
			t.Errorf("Load after saving %#v = %+v", in, got)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	f, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Load()
	if err != nil || got != nil {
		t.Errorf("Load of a missing file = %v, %v; want nil, nil", got, err)
	}
}

func TestNewCreatesFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "data")
	f, err := New(dir)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		t.Fatalf("folder not created: %v", err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("data folder mode %v is open to others", perm)
	}
	if err := f.Save(sampleStreams()); err != nil {
		t.Fatal(err)
	}
}

func TestNewOnAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(file); err == nil {
		t.Errorf("New on a regular file succeeded")
	}
	if _, err := New(filepath.Join(file, "sub")); err == nil {
		t.Errorf("New below a regular file succeeded")
	}
}

func TestFileMode(t *testing.T) {
	dir := t.TempDir()
	f, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	// An existing, more open file is replaced by a private one.
	if err := os.WriteFile(filepath.Join(dir, "streams.json"), []byte(`{"version":1,"streams":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(sampleStreams()); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "streams.json"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("streams.json mode = %v, want 0600 (it holds publish keys)", perm)
	}
}

func TestLoadCorrupt(t *testing.T) {
	tests := []struct {
		name, content string
	}{
		{"not json", "{not json"},
		{"truncated", `{"version":1,"streams":[{"name":"a","key":"k"`},
		{"wrong type", `{"version":1,"streams":{"name":"a"}}`},
		{"empty file", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "streams.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := New(dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.Load()
			if err == nil {
				t.Fatalf("Load of %q = %+v, want an error", tt.content, got)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a valid streams file") {
				t.Errorf("error %q does not name the file and the problem", err)
			}
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	dir := t.TempDir()
	// streams.json is a folder: reading it fails with something other than
	// "does not exist", which must not be mistaken for "no streams".
	if err := os.Mkdir(filepath.Join(dir, "streams.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.Load(); err == nil {
		t.Errorf("Load = %+v, nil; want an error", got)
	}
}

func TestSaveReadOnlyFolder(t *testing.T) {
	dir := t.TempDir()
	f, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Save(sampleStreams()[:1]); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	// Root (and some file systems) ignore the mode: check that it matters.
	probe := filepath.Join(dir, "probe")
	if pf, err := os.Create(probe); err == nil {
		pf.Close()
		os.Remove(probe)
		t.Skip("the folder is still writable after chmod 0500 (running as root?)")
	}
	err = f.Save(sampleStreams())
	if err == nil {
		t.Fatal("Save into a read-only folder succeeded")
	}
	if !errors.Is(err, os.ErrPermission) {
		t.Errorf("error %v does not wrap os.ErrPermission", err)
	}
	// The old file is intact.
	got, err := f.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sampleStreams()[:1]) {
		t.Errorf("after a failed save Load = %+v", got)
	}
}

func TestSaveFolderGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	f, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(sampleStreams()); err == nil {
		t.Errorf("Save into a removed folder succeeded")
	}
}

func TestSaveImplementsEngineStore(t *testing.T) {
	var _ engine.Store = (*File)(nil)
}

func TestManySaves(t *testing.T) {
	dir := t.TempDir()
	f, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	all := sampleStreams()
	for i := range 50 {
		s := all[i%2]
		s.Title = strings.Repeat("x", i)
		if err := f.Save([]engine.StreamConfig{s}); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
	}
	got, err := f.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Title != strings.Repeat("x", 49) {
		t.Errorf("last save lost: %+v", got)
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Errorf("temporary files left behind: %v", l)
	}
}

func TestFailedRenameLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	// streams.json is a non-empty folder, so the final rename fails after
	// the temporary file was written.
	if err := os.MkdirAll(filepath.Join(dir, "streams.json", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Save(sampleStreams()); err == nil {
		t.Fatal("Save over a folder succeeded")
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Errorf("temporary files left behind after a failed save: %v", l)
	}
}
