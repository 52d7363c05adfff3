package push

import (
	"net/http"
	"strings"
	"testing"

	"chalkcast/engine"
	"chalkcast/internal/testkit"
)

// Pushes are added and removed through the API; a target that is not
// one is refused without being saved; the view shows admins the pushes
// without their stream keys and shows others nothing.
func TestAPI(t *testing.T) {
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Close)
	if _, err := hub.Create(engine.StreamConfig{Name: "class"}); err != nil {
		t.Fatal(err)
	}
	p := New(hub, nil)
	t.Cleanup(p.Close)
	srv := testkit.ServeRoutes(t, p.Routes)
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		return testkit.Call(t, srv, method, path, body)
	}

	for _, c := range []struct {
		path, body string
		status     int
		says       string
	}{
		{"/api/v1/streams/class/pushes", `{"url":"http://example.com/live/key"}`, http.StatusBadRequest, "rtmp://host"},
		{"/api/v1/streams/class/pushes", `{"url":"rtmp://example.com"}`, http.StatusBadRequest, "rtmp://host"},
		{"/api/v1/streams/class/pushes", `{"url":"rtmp://example.com/live/key","play_url":"::"}`, http.StatusBadRequest, "play address"},
		{"/api/v1/streams/class/pushes", `{"url":"rtmp://example.com/live/key","key":1}`, http.StatusBadRequest, "key"},
		{"/api/v1/streams/class/pushes", `{"url":"rtmp://example.com/live/` + strings.Repeat("k", 9<<10) + `"}`, http.StatusBadRequest, "too large"},
		{"/api/v1/streams/class/pushes", ``, http.StatusBadRequest, "push target"},
		{"/api/v1/streams/nobody/pushes", `{"url":"rtmp://example.com/live/key"}`, http.StatusNotFound, "nobody"},
	} {
		status, out := call("POST", c.path, c.body)
		if msg, _ := out["error"].(string); status != c.status || !strings.Contains(msg, c.says) {
			t.Errorf("POST %s %.80s: %d %v, want %d saying %q", c.path, c.body, status, out, c.status, c.says)
		}
	}
	if ts := Targets(mustGet(t, hub, "class").Config()); len(ts) != 0 {
		t.Fatalf("refused targets were saved: %v", ts)
	}

	status, out := call("POST", "/api/v1/streams/class/pushes", `{"url":" rtmp://127.0.0.1:1/live/secret ","play_url":"https://example.com/watch"}`)
	id, _ := out["id"].(string)
	if status != http.StatusCreated || id == "" || strings.Contains(out["url"].(string), "secret") || out["play_url"] != "https://example.com/watch" {
		t.Fatalf("add: %d %v", status, out)
	}
	if ts := Targets(mustGet(t, hub, "class").Config()); len(ts) != 1 || ts[0].URL != "rtmp://127.0.0.1:1/live/secret" {
		t.Errorf("saved %v", ts)
	}
	var shown []Status
	p.View("class", true, func(field string, v any) {
		if field == "pushes" {
			shown = v.([]Status)
		}
	})
	if len(shown) != 1 || shown[0].ID != id || strings.Contains(shown[0].URL, "secret") {
		t.Errorf("admin's view %+v", shown)
	}
	p.View("class", false, func(field string, v any) { t.Errorf("anyone's view has %s: %v", field, v) })

	if status, out := call("DELETE", "/api/v1/streams/class/pushes/"+id, ""); status != http.StatusNoContent {
		t.Errorf("remove: %d %v", status, out)
	}
	if status, out := call("DELETE", "/api/v1/streams/class/pushes/"+id, ""); status != http.StatusNotFound {
		t.Errorf("remove again: %d %v", status, out)
	}
	if ts := Targets(mustGet(t, hub, "class").Config()); len(ts) != 0 {
		t.Errorf("removed target still saved: %v", ts)
	}
	p.View("class", true, func(field string, v any) { t.Errorf("view after removal has %s: %v", field, v) })
}

func mustGet(t *testing.T, hub *engine.Hub, name string) *engine.Stream {
	t.Helper()
	s, ok := hub.Get(name)
	if !ok {
		t.Fatalf("no stream %s", name)
	}
	return s
}
