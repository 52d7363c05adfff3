package record

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/testkit"
)

// An idle stream cannot be recorded; settings are checked before they
// are saved; names that are not recordings are not found.
func TestAPIIdleStream(t *testing.T) {
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Close)
	rec, err := New(hub, Config{Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Close)
	if _, err := hub.Create(engine.StreamConfig{Name: "math"}); err != nil {
		t.Fatal(err)
	}
	srv := testkit.ServeRoutes(t, rec.Routes)
	for _, c := range []struct {
		method, path, body string
		status             int
		says               string
	}{
		{"POST", "/api/v1/streams/math/recording", "", http.StatusConflict, "not live"},
		{"POST", "/api/v1/streams/nobody/recording", "", http.StatusNotFound, "nobody"},
		{"POST", "/api/v1/streams/math/recording", `{"format":"avi"}`, http.StatusBadRequest, "avi"},
		{"POST", "/api/v1/streams/math/recording", `{"colour":"red"}`, http.StatusBadRequest, "colour"},
		{"DELETE", "/api/v1/streams/math/recording", "", http.StatusNotFound, "not being recorded"},
		{"PUT", "/api/v1/streams/math/recording/settings", `{"format":"avi"}`, http.StatusBadRequest, "avi"},
		{"PUT", "/api/v1/streams/math/recording/settings", `{"split_minutes":-1}`, http.StatusBadRequest, "split"},
		{"PUT", "/api/v1/streams/math/recording/settings", `{"auto":true,"x":1}`, http.StatusBadRequest, "x"},
		{"PUT", "/api/v1/streams/math/recording/settings", `{"auto":true,"format":"` + strings.Repeat("f", 5<<10) + `"}`, http.StatusBadRequest, "too large"},
		{"PUT", "/api/v1/streams/nobody/recording/settings", `{"auto":true}`, http.StatusNotFound, "nobody"},
		{"GET", "/api/v1/recordings/math/..%2F..%2Fetc%2Fpasswd", "", http.StatusNotFound, "no such recording"},
		{"GET", "/api/v1/recordings/math/math_2026-11-26_09-00-00.mp4", "", http.StatusNotFound, "no such recording"},
		{"DELETE", "/api/v1/recordings/math/..%2F..%2Fetc%2Fpasswd", "", http.StatusNotFound, "no such recording"},
	} {
		status, out := testkit.Call(t, srv, c.method, c.path, c.body)
		if msg, _ := out["error"].(string); status != c.status || !strings.Contains(msg, c.says) {
			t.Errorf("%s %s %s: %d %v, want %d saying %q", c.method, c.path, c.body, status, out, c.status, c.says)
		}
	}
	if s, _ := hub.Get("math"); SettingsOf(s.Config()) != (Settings{}) {
		t.Fatalf("refused settings were saved: %+v", SettingsOf(s.Config()))
	}
	if status, out := testkit.Call(t, srv, "PUT", "/api/v1/streams/math/recording/settings", `{"auto":true,"split_minutes":30}`); status != http.StatusOK || out["auto"] != true {
		t.Fatalf("settings: %d %v", status, out)
	}
	if s, _ := hub.Get("math"); SettingsOf(s.Config()) != (Settings{Auto: true, SplitMinutes: 30}) {
		t.Errorf("saved %+v", SettingsOf(s.Config()))
	}
	status, out := testkit.Call(t, srv, "GET", "/api/v1/recordings", "")
	if list, ok := out["recordings"].([]any); status != http.StatusOK || !ok || len(list) != 0 || out["folder"] != rec.Dir() {
		t.Errorf("recordings: %d %v", status, out)
	}
	var fields []string
	rec.View("math", true, func(field string, _ any) { fields = append(fields, field) })
	if len(fields) != 0 {
		t.Errorf("an idle stream's view has %v", fields)
	}
}

// A live stream is recorded through the API: the view tells admins where
// to and others only that it records; the file is listed, downloaded and,
// once finished, deleted.
func TestAPIRecordsLiveStream(t *testing.T) {
	_, _, rec := live(t, Settings{})
	srv := testkit.ServeRoutes(t, rec.Routes)
	status, out := testkit.Call(t, srv, "POST", "/api/v1/streams/maths/recording", `{"format":"flv"}`)
	if status != http.StatusCreated || out["active"] != true {
		t.Fatalf("start: %d %v", status, out)
	}
	testkit.WaitFor(t, 10*time.Second, "the first file", func() bool { return strings.HasSuffix(rec.Status("maths").File, ".flv") })
	if status, out := testkit.Call(t, srv, "POST", "/api/v1/streams/maths/recording", ""); status != http.StatusConflict {
		t.Errorf("second start: %d %v", status, out)
	}
	views := map[bool]Status{}
	for _, admin := range []bool{true, false} {
		rec.View("maths", admin, func(field string, v any) {
			if field != "recording_status" {
				t.Errorf("field %q", field)
			}
			views[admin] = v.(Status)
		})
	}
	if st := views[true]; !st.Active || st.File == "" || st.Since == nil {
		t.Errorf("admin's view %+v", st)
	}
	if st := views[false]; st != (Status{Active: true}) {
		t.Errorf("anyone's view %+v, want only that it records", st)
	}
	status, out = testkit.Call(t, srv, "DELETE", "/api/v1/streams/maths/recording", "")
	if status != http.StatusOK || out["stream"] != "maths" {
		t.Fatalf("stop: %d %v", status, out)
	}
	file, _ := out["file"].(string)
	status, out = testkit.Call(t, srv, "GET", "/api/v1/recordings", "")
	if list, _ := out["recordings"].([]any); status != http.StatusOK || len(list) != 1 {
		t.Fatalf("recordings: %d %v", status, out)
	}
	resp, err := srv.Client().Get(srv.URL + "/api/v1/recordings/maths/" + file)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 3)
	_, err = io.ReadFull(resp.Body, head)
	resp.Body.Close()
	if err != nil || string(head) != "FLV" || !strings.Contains(resp.Header.Get("Content-Disposition"), file) {
		t.Errorf("download: %v %q %v", err, head, resp.Header)
	}
	if status, out := testkit.Call(t, srv, "DELETE", "/api/v1/recordings/maths/"+file, ""); status != http.StatusOK || out["deleted"] != file {
		t.Errorf("delete: %d %v", status, out)
	}
	if _, err := os.Stat(filepath.Join(rec.Dir(), "maths", file)); !os.IsNotExist(err) {
		t.Errorf("the file is still there: %v", err)
	}
}

// A new stream's recording settings are checked; the defaults save
// nothing.
func TestNewSection(t *testing.T) {
	rec := &Recorder{}
	for _, c := range []struct {
		raw, want string
		bad       bool
	}{
		{raw: `null`}, {raw: `{}`}, {raw: `{"auto":false}`},
		{raw: `{"auto":true}`, want: `{"auto":true}`},
		{raw: `{"format":"flv","split_minutes":30}`, want: `{"auto":false,"format":"flv","split_minutes":30}`},
		{raw: `{"format":"avi"}`, bad: true},
		{raw: `{"colour":"red"}`, bad: true},
		{raw: `[]`, bad: true},
		{raw: `"mp4"`, bad: true},
	} {
		got, err := rec.NewSection(json.RawMessage(c.raw))
		if c.bad != (err != nil) || string(got) != c.want {
			t.Errorf("NewSection(%s) = %s, %v", c.raw, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), "invalid") {
			t.Errorf("NewSection(%s): %v does not say it is invalid", c.raw, err)
		}
	}
}
