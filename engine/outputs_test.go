package engine_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"chalkcast/engine"
)

// A streams.json written before outputs had sections of their own keeps
// what outputs wrote at its top level, unread, as their sections; a
// section set with SetOutput is saved, announced and read back, and a
// change that fails changes nothing.
func TestOutputSections(t *testing.T) {
	dir := t.TempDir()
	old := `{"version":1,"streams":[{"name":"maths","key":"k1","source":{"type":"rtmp"},"created":"2026-11-01T08:00:00Z",
	  "recording":{"auto":true,"format":"flv"},"pushes":[{"id":"ab12","url":"rtmp://cdn/live/x"}]}]}`
	if err := os.WriteFile(filepath.Join(dir, "streams.json"), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := newHub(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := h.Get("maths")
	if got := string(s.Config().Output("recording")); got != `{"auto":true,"format":"flv"}` {
		t.Errorf("recording section %s", got)
	}
	if got := string(s.Config().Output("pushes")); got != `[{"id":"ab12","url":"rtmp://cdn/live/x"}]` {
		t.Errorf("pushes section %s", got)
	}
	sub := h.Subscribe(8)
	defer sub.Close()
	boom := errors.New("boom")
	if err := h.SetOutput("maths", "recording", func(json.RawMessage) (json.RawMessage, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("a failed change: %v", err)
	}
	if err := h.SetOutput("nobody", "recording", func(b json.RawMessage) (json.RawMessage, error) { return b, nil }); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("an unknown stream: %v", err)
	}
	if err := h.SetOutput("maths", "recording", func(b json.RawMessage) (json.RawMessage, error) {
		if string(b) != `{"auto":true,"format":"flv"}` {
			t.Errorf("change got %s", b)
		}
		return json.RawMessage(`{"auto":false}`), nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.SetOutput("maths", "pushes", func(json.RawMessage) (json.RawMessage, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"recording", "pushes"} {
		if e := <-sub.C; e.Kind != engine.EventOutputConfig || e.Stream != "maths" || e.Output != want {
			t.Errorf("event %+v, want the %s section's change", e, want)
		}
	}
	h.Close()

	h, err = newHub(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	s, _ = h.Get("maths")
	var compact bytes.Buffer
	c := s.Config()
	if err := json.Compact(&compact, c.Output("recording")); err != nil || compact.String() != `{"auto":false}` || c.Output("pushes") != nil || len(c.Outputs) != 1 {
		t.Errorf("read back: %v", c.Outputs)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "streams.json"))
	var saved struct{ Streams []map[string]any }
	if err := json.Unmarshal(b, &saved); err != nil || len(saved.Streams) != 1 || saved.Streams[0]["recording"] != nil || saved.Streams[0]["outputs"] == nil {
		t.Errorf("saved %s (%v)", b, err)
	}
}
