package engine_test

// The hub with the real file store. This is an external test package
// because chalkcast/engine/store imports chalkcast/engine.

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"chalkcast/engine"
	"chalkcast/engine/store"
)

func newHub(t *testing.T, dir string) (*engine.Hub, error) {
	t.Helper()
	st, err := store.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return engine.New(engine.Config{}, st, nil)
}

func TestStreamsPersist(t *testing.T) {
	dir := t.TempDir()
	h, err := newHub(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Create(engine.StreamConfig{Name: "maths", Title: "Maths 101"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Create(engine.StreamConfig{Name: "cam", Source: engine.Source{Type: "rtsp", URL: "rtsp://10.0.0.9/1", Options: map[string]string{"transport": "tcp"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Create(engine.StreamConfig{Name: "tmp"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ResetKey("cam"); err != nil {
		t.Fatal(err)
	}
	if err := h.Delete("tmp"); err != nil {
		t.Fatal(err)
	}
	want := map[string]engine.StreamConfig{}
	for _, s := range h.Streams() {
		want[s.Name()] = s.Config()
	}
	h.Close()

	st, err := os.Stat(filepath.Join(dir, "streams.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("streams.json mode %v, want 0600", st.Mode().Perm())
	}

	h2, err := newHub(t, dir)
	if err != nil {
		t.Fatalf("New on the same folder: %v", err)
	}
	defer h2.Close()
	var names []string
	for _, s := range h2.Streams() {
		names = append(names, s.Name())
		if !reflect.DeepEqual(s.Config(), want[s.Name()]) {
			t.Errorf("%s came back as %+v, want %+v", s.Name(), s.Config(), want[s.Name()])
		}
		if got, ok := h2.ByKey(s.Config().Key); !ok || got != s {
			t.Errorf("%s not found by its key after the restart", s.Name())
		}
		if s.State() != engine.StateIdle {
			t.Errorf("%s is %s after the restart", s.Name(), s.State())
		}
	}
	if strings.Join(names, ",") != "cam,maths" {
		t.Errorf("streams after the restart: %v, want cam,maths", names)
	}
	if len(want) != 2 {
		t.Errorf("%d streams before the restart", len(want))
	}
}

func TestCorruptStreamsFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "streams.json")
	if err := os.WriteFile(path, []byte(`{"version":1,"streams":[{"name":"a",`), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := newHub(t, dir)
	if err == nil {
		h.Close()
		t.Fatal("New with a corrupt streams.json succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"load streams", path, "not a valid streams file"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
}

func TestSavedStreamsWithBadEntries(t *testing.T) {
	dir := t.TempDir()
	doc := `{"version":1,"streams":[
		{"name":"ok","key":"aaaa","source":{"type":"rtmp"}},
		{"name":"../etc","key":"bbbb","source":{"type":"rtmp"}},
		{"name":"nokey","source":{"type":"rtmp"}}
	]}`
	if err := os.WriteFile(filepath.Join(dir, "streams.json"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := newHub(t, dir)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer h.Close()
	if n := len(h.Streams()); n != 1 {
		t.Errorf("%d streams loaded, want 1 (bad entries skipped)", n)
	}
	if s, ok := h.ByKey("aaaa"); !ok || s.Name() != "ok" {
		t.Errorf("the valid stream is missing")
	}
	if _, ok := h.ByKey("bbbb"); ok {
		t.Errorf("a stream with an unsafe name was loaded")
	}
}
