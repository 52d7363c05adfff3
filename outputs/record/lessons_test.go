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

// record records stream maths for d and returns its file.
func record(t *testing.T, rec *Recorder, d time.Duration) File {
	t.Helper()
	if _, err := rec.Start("maths", nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	f, err := rec.Stop("maths")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// get fetches url as a student (visitor) or an admin: its status and body.
func get(t *testing.T, url string, visitor bool) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if visitor {
		req.Header.Set(testkit.Visitor, "1")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, string(b)
}

// lessonsOf lists maths's lessons as a student or an admin sees them.
func lessonsOf(t *testing.T, srv string, visitor bool) []map[string]any {
	t.Helper()
	status, body := get(t, srv+"/api/v1/streams/maths/lessons", visitor)
	var out struct{ Lessons []map[string]any }
	if err := json.Unmarshal([]byte(body), &out); status != http.StatusOK || err != nil {
		t.Fatalf("lessons: %d %v %s", status, err, body)
	}
	return out.Lessons
}

// TestLessons: a finished recording is a shared lesson with its title and
// links, counted as students replay it; the teacher renames, unshares
// (after which everything of it is not found for students, and still
// there for admins) and deletes it (gone from disk); a stream set so
// records unshared lessons; what was set outlives the recorder.
func TestLessons(t *testing.T) {
	_, s, rec := live(t, Settings{Format: "mp4"})
	srv := testkit.ServeRoutes(t, rec.Routes)
	f := record(t, rec, 3*time.Second)
	id := strings.TrimSuffix(f.Name, ".mp4")

	ls := lessonsOf(t, srv.URL, true)
	want := "maths · " + f.Start.Local().Format("2006-01-02 15:04")
	if len(ls) != 1 || ls[0]["id"] != id || ls[0]["title"] != want || ls[0]["shared"] != true ||
		ls[0]["replay_url"] != testkit.Base+"/watch/maths/replay/"+id || ls[0]["hls_url"] != testkit.Base+"/replay/"+id+"/index.m3u8" {
		t.Fatalf("lessons a student sees: %v", ls)
	}
	if d, _ := ls[0]["duration_s"].(float64); d < 2 || d > 4 || ls[0]["file"] != nil || ls[0]["size"] != nil {
		t.Errorf("a student's lesson: %v", ls[0])
	}
	if ls := lessonsOf(t, srv.URL, false); len(ls) != 1 || ls[0]["file"] != f.Name || ls[0]["size"].(float64) != float64(f.Size) {
		t.Errorf("lessons an admin sees: %v", ls)
	}

	// two students: one playlist and its media each, counted once each
	playlist := srv.URL + "/replay/" + id + "/index.m3u8"
	for range 2 {
		status, pl := get(t, playlist, true)
		uri, _, _ := strings.Cut(strings.SplitAfter(pl, `#EXT-X-MAP:URI="`)[1], `"`)
		if status != http.StatusOK || !strings.HasPrefix(uri, "media.mp4?s=") {
			t.Fatalf("playlist %d: %s", status, pl)
		}
		if status, _ := get(t, srv.URL+"/replay/"+id+"/"+uri, true); status != http.StatusOK {
			t.Fatalf("media: %d", status)
		}
	}
	if ls := lessonsOf(t, srv.URL, true); ls[0]["viewers"] != 2.0 {
		t.Errorf("replay viewers %v, want 2", ls[0]["viewers"])
	}
	if st := s.Stats(engine.StatsOptions{}); st.Viewers.Total != 0 {
		t.Errorf("replay viewers counted as live ones: %+v", st.Viewers)
	}

	for _, c := range []struct {
		body   string
		status int
		says   string
	}{
		{`{"title":"  "}`, http.StatusBadRequest, "needs a title"},
		{`{"title":"a\nb"}`, http.StatusBadRequest, "one line"},
		{`{"title":"` + strings.Repeat("长", MaxTitle+1) + `"}`, http.StatusBadRequest, "at most 200"},
		{`{"colour":"red"}`, http.StatusBadRequest, "colour"},
	} {
		if status, out := testkit.Call(t, srv, "PATCH", "/api/v1/lessons/"+id, c.body); status != c.status || !strings.Contains(out["error"].(string), c.says) {
			t.Errorf("PATCH %.40s: %d %v, want %d saying %q", c.body, status, out, c.status, c.says)
		}
	}
	for _, p := range []string{"maths_2020-01-01_09-00-00", "..%2Fmaths_2020-01-01_09-00-00", "nobody_" + strings.TrimPrefix(id, "maths_")} {
		if status, _ := testkit.Call(t, srv, "PATCH", "/api/v1/lessons/"+p, `{"shared":false}`); status != http.StatusNotFound {
			t.Errorf("PATCH %s: %d", p, status)
		}
	}
	if status, _ := testkit.Visit(t, srv, "PATCH", "/api/v1/lessons/"+id, `{"shared":false}`); status != http.StatusForbidden {
		t.Errorf("a student unshared: %d", status)
	}
	status, out := testkit.Call(t, srv, "PATCH", "/api/v1/lessons/"+id, `{"title":" Fractions, part 2 ","shared":false}`)
	if status != http.StatusOK || out["title"] != "Fractions, part 2" || out["shared"] != false {
		t.Fatalf("PATCH: %d %v", status, out)
	}

	// unshared: nothing of it for a student, all of it for an admin
	if ls := lessonsOf(t, srv.URL, true); len(ls) != 0 {
		t.Errorf("a student lists an unshared lesson: %v", ls)
	}
	_, pl := get(t, playlist, false)
	uri, _, _ := strings.Cut(strings.SplitAfter(pl, `#EXT-X-MAP:URI="`)[1], `"`)
	for _, u := range []string{"/api/v1/lessons/" + id, "/replay/" + id + "/index.m3u8", "/replay/" + id + "/" + uri} {
		if status, body := get(t, srv.URL+u, true); status != http.StatusNotFound {
			t.Errorf("a student got %s of an unshared lesson: %d %.100s", u, status, body)
		}
		if status, _ := get(t, srv.URL+u, false); status != http.StatusOK {
			t.Errorf("an admin got %s: %d", u, status)
		}
	}

	// what was set is kept with the recordings
	again, err := New(rec.hub, Config{Dir: rec.Dir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := again.Lesson(id, true); err != nil || l.Title != "Fractions, part 2" || l.Shared {
		t.Errorf("after a restart: %+v %v", l, err)
	}
	again.Close()

	// a stream set to keep new lessons to itself
	if err := rec.SetSettings("maths", Settings{Format: "mp4", Unshared: true}); err != nil {
		t.Fatal(err)
	}
	second := record(t, rec, 3*time.Second)
	if l, err := rec.Lesson(strings.TrimSuffix(second.Name, ".mp4"), true); err != nil || l.Shared {
		t.Errorf("a lesson of a stream that does not share new ones: %+v %v", l, err)
	}

	if status, _ := testkit.Visit(t, srv, "DELETE", "/api/v1/lessons/"+id, ""); status != http.StatusForbidden {
		t.Errorf("a student deleted: %d", status)
	}
	if status, out := testkit.Call(t, srv, "DELETE", "/api/v1/lessons/"+id, ""); status != http.StatusOK {
		t.Fatalf("DELETE: %d %v", status, out)
	}
	if _, err := os.Stat(f.Path); !os.IsNotExist(err) {
		t.Errorf("the deleted lesson's file: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(rec.Dir(), "maths", lessonsFile)); strings.Contains(string(b), f.Name) || !strings.Contains(string(b), second.Name) {
		t.Errorf("%s after the delete:\n%s", lessonsFile, b)
	}
	if status, _ := testkit.Call(t, srv, "DELETE", "/api/v1/lessons/"+id, ""); status != http.StatusNotFound {
		t.Errorf("DELETE again: %d", status)
	}
}

// A lesson being recorded is not one yet: not listed, not replayed, not
// changed.
func TestLessonBeingRecorded(t *testing.T) {
	_, _, rec := live(t, Settings{Format: "mp4"})
	srv := testkit.ServeRoutes(t, rec.Routes)
	st, err := rec.Start("maths", nil)
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "a file", func() bool { st = rec.Status("maths"); return st.File != "" })
	id := strings.TrimSuffix(filepath.Base(st.File), ".mp4")
	if ls := lessonsOf(t, srv.URL, false); len(ls) != 0 {
		t.Errorf("listed while recorded: %v", ls)
	}
	if status, _ := get(t, srv.URL+"/replay/"+id+"/index.m3u8", false); status != http.StatusNotFound {
		t.Errorf("replayed while recorded: %d", status)
	}
	if status, _ := testkit.Call(t, srv, "PATCH", "/api/v1/lessons/"+id, `{"shared":false}`); status != http.StatusConflict {
		t.Errorf("changed while recorded: %d", status)
	}
}
